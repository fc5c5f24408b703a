package capture

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const vectorsDir = "../../firmware-protocol/vectors"

// decodeLines runs Decode over in and returns the printed objects.
func decodeLines(t *testing.T, in []byte, o Options) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	if _, err := Decode(&out, bytes.NewReader(in), o); err != nil {
		t.Fatalf("Decode: got error %v, want none", err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestReaderVectors feeds every r2000, m6e and llrp conformance vector through the decode tool, as
// hex text the way an engineer pastes it, and checks what it prints against the vector's
// expectation.
func TestReaderVectors(t *testing.T) {
	files := map[string]string{
		"r2000": filepath.Join(vectorsDir, "r2000.json"),
		"m6e":   filepath.Join(vectorsDir, "m6e.json"),
		"llrp":  "../../firmware-protocol/llrp/vectors.json",
	}
	for _, proto := range []string{"r2000", "m6e", "llrp"} {
		raw, err := os.ReadFile(files[proto])
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Vectors []struct {
				Name, Direction, Hex string
				Expect               []map[string]any
			}
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Vectors) == 0 {
			t.Fatalf("%s.json: no vectors", proto)
		}
		for _, v := range f.Vectors {
			t.Run(proto+"/"+v.Name, func(t *testing.T) {
				got := decodeLines(t, []byte(v.Hex), Options{Protocol: proto, Hex: true, Direction: Direction(v.Direction)})
				if len(got) != len(v.Expect) {
					t.Fatalf("got %d objects %v, want %d %v", len(got), got, len(v.Expect), v.Expect)
				}
				for i, want := range v.Expect {
					for k, w := range want {
						g := got[i][k]
						if k == "detail" {
							for dk, dv := range w.(map[string]any) {
								gd, _ := g.(map[string]any)
								if !reflect.DeepEqual(gd[dk], dv) {
									t.Errorf("object %d detail.%s: got %v, want %v", i, dk, gd[dk], dv)
								}
							}
							continue
						}
						if !reflect.DeepEqual(g, w) {
							t.Errorf("object %d %s: got %v, want %v (%v)", i, k, g, w, got[i])
						}
					}
				}
			})
		}
	}
}

// pipeVectors reads a "name | expect | hex | meaning | source" vectors file.
func pipeVectors(t *testing.T, name string) [][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, " | ")
		if len(f) != 5 {
			t.Fatalf("%s: line %q has %d fields, want 5", name, line, len(f))
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return out
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCabinetVectors: a good frame prints one object whose kind, addr and seq are the vector's;
// a bad one prints an error first, with the vector's cause, at offset 0.
func TestCabinetVectors(t *testing.T) {
	for _, v := range pipeVectors(t, "cabinet.vectors") {
		name, expect, hx, meaning := v[0], v[1], v[2], v[3]
		t.Run(name, func(t *testing.T) {
			got := decodeLines(t, hexBytes(t, hx), Options{Protocol: "cabinet"})
			if len(got) == 0 {
				t.Fatalf("got no output, want %s", meaning)
			}
			if strings.Contains(expect, "@") {
				// A stream vector (cabinet.md §9): every item as cause@offset, "ok" for a frame
				// (a frame whose payload breaks its type's rules prints as a payload error).
				var items []string
				for _, g := range got {
					c := "ok"
					if g["kind"] == "error" {
						c = g["cause"].(string)
					}
					items = append(items, fmt.Sprintf("%s@%v", c, g["offset"]))
				}
				if strings.Join(items, ",") != expect {
					t.Fatalf("got items %s, want %s (%v)", strings.Join(items, ","), expect, got)
				}
				return
			}
			if expect != "ok" {
				if got[0]["kind"] != "error" || got[0]["cause"] != expect || got[0]["offset"] != 0.0 {
					t.Fatalf("got %v, want an error with cause %s at offset 0", got[0], expect)
				}
				return
			}
			f := strings.Fields(meaning)
			addr, _ := strconv.ParseUint(strings.TrimPrefix(f[0], "addr="), 16, 8)
			seq, _ := strconv.ParseUint(strings.TrimPrefix(f[1], "seq="), 16, 8)
			want := map[string]any{"kind": f[2], "offset": 0.0, "addr": float64(addr), "seq": float64(seq)}
			if len(got) != 1 {
				t.Fatalf("got %d objects %v, want 1", len(got), got)
			}
			for k, w := range want {
				if got[0][k] != w {
					t.Errorf("%s: got %v, want %v (%v)", k, got[0][k], w, got[0])
				}
			}
		})
	}
}

var scanItem = regexp.MustCompile(`^scan@(\d+) sym=(\S*) data=(.*?)(?: gs1=(.*))?$`)
var gs1Element = regexp.MustCompile(`\((\d+)\)([^(]*)`)

// TestScannerVectors: every scan and every refused line of the scanner vectors, in order, with
// symbology, data and GS1 elements.
func TestScannerVectors(t *testing.T) {
	for _, v := range pipeVectors(t, "scanner.vectors") {
		name, hx, meaning := v[0], v[2], v[3]
		t.Run(name, func(t *testing.T) {
			got := decodeLines(t, hexBytes(t, hx), Options{Protocol: "scanner"})
			items := strings.Split(meaning, " ; ")
			if len(got) != len(items) {
				t.Fatalf("got %d objects %v, want %d (%s)", len(got), got, len(items), meaning)
			}
			for i, item := range items {
				var want map[string]any
				if strings.HasPrefix(item, "error@") {
					off, cause, _ := strings.Cut(strings.TrimPrefix(item, "error@"), ":")
					n, _ := strconv.Atoi(off)
					want = map[string]any{"kind": "error", "offset": float64(n), "cause": cause}
				} else {
					m := scanItem.FindStringSubmatch(item)
					if m == nil {
						t.Fatalf("cannot read meaning %q", item)
					}
					n, _ := strconv.Atoi(m[1])
					want = map[string]any{"kind": "scan", "offset": float64(n), "symbology": m[2],
						"data": strings.ReplaceAll(m[3], "<GS>", "\x1d")}
					if m[4] != "" {
						g := map[string]any{}
						for _, e := range gs1Element.FindAllStringSubmatch(m[4], -1) {
							g[e[1]] = e[2]
						}
						want["gs1"] = g
					}
				}
				for k, w := range want {
					if !reflect.DeepEqual(got[i][k], w) {
						t.Errorf("object %d %s: got %v, want %v (%v)", i, k, got[i][k], w, got[i])
					}
				}
			}
		})
	}
}

// vectorBytes finds the bytes of a named vector in a vectors file, so captured-style streams are
// built from the conformance vectors rather than from copies of them.
func vectorBytes(t *testing.T, file, name string) []byte {
	t.Helper()
	if strings.HasSuffix(file, ".json") {
		raw, err := os.ReadFile(filepath.Join(vectorsDir, file))
		if err != nil {
			t.Fatal(err)
		}
		var f struct{ Vectors []struct{ Name, Hex string } }
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		for _, v := range f.Vectors {
			if v.Name == name {
				return hexBytes(t, v.Hex)
			}
		}
	} else {
		for _, v := range pipeVectors(t, file) {
			if v[0] == name {
				return hexBytes(t, v[2])
			}
		}
	}
	t.Fatalf("%s: no vector %q", file, name)
	return nil
}

func fmtHex(b []byte) string { return fmt.Sprintf("% X", b) }
