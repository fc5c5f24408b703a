package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// chain is n records as custodyd wrote them before records named their algorithm (SHA-256 v1).
func chain(t testing.TB, n int) []Record { return chainWith(t, n, "") }

// algs are the ways a record is hashed: unnamed SHA-256 (v1), named SHA-256 and SM3 (v2).
var algs = []string{"", SHA256, SM3}

// chainWith is n records hashed with alg.
func chainWith(t testing.TB, n int, alg string) []Record {
	t.Helper()
	recs := make([]Record, n)
	prev := Genesis
	at := time.Date(2026, 11, 26, 9, 0, 0, 123456789, time.FixedZone("CST", 8*3600))
	for i := range recs {
		recs[i] = Record{
			Seq:     int64(i + 1),
			At:      at.Add(time.Duration(i) * time.Second),
			Actor:   "zhang.wei",
			Action:  "item.store",
			Subject: fmt.Sprintf("item:%d", i+1),
			Before:  json.RawMessage(`{"state":"registered"}`),
			After:   json.RawMessage(fmt.Sprintf(`{"state":"in_cabinet","cabinet":"C-%02d","note":"<柜>&"}`, i%7)),
			Parties: []string{"zhang.wei", "li.na"},
			Alg:     alg,
		}
		recs[i].Seal(prev)
		prev = recs[i].Hash
	}
	return recs
}

func export(t testing.TB, recs []Record) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func verify(lines []string, head string) (Result, error) {
	return Verify(strings.NewReader(strings.Join(lines, "\n")+"\n"), VerifyOptions{Head: head})
}

func TestIntactChainVerifies(t *testing.T) {
	recs := chain(t, 20)
	res, err := verify(export(t, recs), recs[19].Hash)
	if err != nil {
		t.Fatalf("got %v, want intact chain", err)
	}
	if res.Records != 20 || res.Head != recs[19].Hash || res.LastSeq != 20 {
		t.Errorf("got %+v, want 20 records ending at %s", res, recs[19].Hash)
	}
}

func TestEmptyChain(t *testing.T) {
	res, err := Verify(strings.NewReader(""), VerifyOptions{})
	if err != nil || res.Records != 0 || res.Head != Genesis {
		t.Errorf("got %+v, %v; want empty intact chain", res, err)
	}
}

// Each kind of tampering is found and named, under each hash algorithm.
func TestTamperingIsNamed(t *testing.T) {
	for _, alg := range algs {
		t.Run(algOf(alg)+"/"+map[bool]string{true: "v1", false: "v2"}[alg == ""], func(t *testing.T) { testTampering(t, alg) })
	}
}

func testTampering(t *testing.T, alg string) {
	recs := chainWith(t, 12, alg)
	head := recs[11].Hash
	cases := []struct {
		name      string
		edit      func([]string) []string
		wantIndex int
		wantKind  string
	}{
		{"one byte of the actor changed", func(l []string) []string {
			l[4] = strings.Replace(l[4], "zhang.wei", "zhang.wej", 1)
			return l
		}, 5, "altered"},
		{"one byte of the time changed", func(l []string) []string {
			l[7] = strings.Replace(l[7], "T01:00:07", "T01:00:08", 1)
			return l
		}, 8, "altered"},
		{"hash rewritten to match altered content", func(l []string) []string {
			var r Record
			json.Unmarshal([]byte(l[2]), &r)
			r.Actor = "mallory"
			r.Hash = r.digest()
			b, _ := json.Marshal(&r)
			l[2] = string(b)
			return l
		}, 3, "altered"},
		{"record deleted", func(l []string) []string {
			return append(l[:6:6], l[7:]...)
		}, 7, "deleted"},
		{"records swapped", func(l []string) []string {
			l[3], l[4] = l[4], l[3]
			return l
		}, 4, "deleted"},
		{"record copied again further on", func(l []string) []string {
			return append(l[:9:9], append([]string{l[2]}, l[9:]...)...)
		}, 10, "reordered"},
		{"forged record inserted", func(l []string) []string {
			forged := Record{Seq: 6, At: time.Now(), Actor: "mallory", Action: "item.destroy", Subject: "item:3", Alg: alg}
			forged.Seal(Genesis)
			b, _ := json.Marshal(&forged)
			return append(l[:5:5], append([]string{string(b)}, l[5:]...)...)
		}, 6, "inserted"},
		{"line made invalid", func(l []string) []string {
			l[1] = l[1][:40]
			return l
		}, 2, "malformed"},
		{"last records cut off", func(l []string) []string {
			return l[:9]
		}, 10, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines := c.edit(export(t, recs))
			_, err := verify(lines, head)
			var b *Break
			if !errors.As(err, &b) {
				t.Fatalf("got %v, want a break", err)
			}
			if b.Index != c.wantIndex || b.Kind != c.wantKind {
				t.Errorf("got record %d %s (%v), want record %d %s", b.Index, b.Kind, err, c.wantIndex, c.wantKind)
			}
		})
	}
}

// An export keeps before/after byte for byte, including characters that encoding/json would
// escape by default; otherwise every record with "<" would fail verification.
func TestExportKeepsBytes(t *testing.T) {
	recs := chain(t, 1)
	lines := export(t, recs)
	if !strings.Contains(lines[0], `"note":"<柜>&"`) {
		t.Fatalf("got %s, want the raw note kept", lines[0])
	}
}
