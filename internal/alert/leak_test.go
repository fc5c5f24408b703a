package alert

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/alert/notify"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
)

// TestNothingLeavesTheSecureNetwork is DESIGN.md §5 rule 11 as a test: an alert of every kind, at
// every level, goes through every external channel (mail through a real SMTP server, and the
// generic, DingTalk, WeCom and Feishu webhooks through real HTTP servers) to every audience, and
// the bytes those servers received must not hold a title, a document or item number, a level, a
// holder, an EPC or even what kind of alert it is. They must hold the opaque ref, and the cabinet.
func TestNothingLeavesTheSecureNetwork(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var mu sync.Mutex
	var wire []string // every request line, header and body the robots received
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		wire = append(wire, req.URL.String()+"\n"+fmt.Sprint(req.Header)+"\n"+string(b))
		mu.Unlock()
		io.WriteString(w, `{"errcode":0,"code":0}`)
	}))
	defer robot.Close()
	var chans []notify.Channel
	chans = append(chans, &notify.Mail{Addr: r.smtp.Addr, From: "custody@unit.test", To: []string{"all@unit.test"}, Mode: notify.TLSNone})
	for _, f := range []notify.Format{notify.Generic, notify.DingTalk, notify.WeCom, notify.Feishu} {
		chans = append(chans, &notify.Webhook{URL: robot.URL + "/hook?access_token=t", Format: f, Secret: "k"})
	}
	r.esc.routes = map[Audience][]notify.Channel{Custodians: chans, Leaders: chans, SecrecyOffice: chans}

	// The register's sensitive words: every document title and number, every holder.
	var forbidden []string
	rows, err := r.st.DB().Query(`SELECT number, title FROM documents`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n, title string
		rows.Scan(&n, &title)
		forbidden = append(forbidden, n, title)
	}
	rows.Close()
	forbidden = append(forbidden, "zhangsan", "lisi", "custodian1")
	for _, l := range custody.Levels {
		forbidden = append(forbidden, l.Text().ZH, l.Text().EN, string(l))
	}
	for _, k := range reconcile.Kinds {
		forbidden = append(forbidden, string(k), k.Text().ZH, k.Text().EN)
	}

	// One confirmed finding of every kind, for items of every level, in distinct places.
	var fs []reconcile.Finding
	levels := []custody.Level{custody.TopSecret, custody.Secret, custody.Confidential}
	for i, k := range reconcile.Kinds {
		cab := alerttest.CabCode(1 + i%4)
		id := r.site.Items[fmt.Sprintf("%s/%d", cab, 1+i)]
		var number string
		var copyNo int
		r.st.DB().QueryRow(`SELECT d.number, i.copy_no FROM items i JOIN documents d ON d.id = i.document_id WHERE i.id = ?`, id).Scan(&number, &copyNo)
		item := fmt.Sprintf("%s/%d", number, copyNo)
		forbidden = append(forbidden, item, r.site.EPCs[id])
		f := reconcile.Finding{Kind: k, Confidence: reconcile.Confirmed, Cabinet: cab, Agent: "agent-a", At: night,
			ItemID: id, Item: item, Level: levels[i%3], EPC: r.site.EPCs[id], Holder: "zhangsan",
			Text: custody.Text{ZH: "文件 " + item + " 绝密 zhangsan", EN: "item " + item}}
		switch {
		case k.PerItem() || k == reconcile.Overdue:
			f.Subject = fmt.Sprintf("item/%d", id)
		case k == reconcile.AgentOffline:
			f.Subject, f.Agent = "agent/agent-x", "agent-x"
		default:
			f.Subject = "cabinet/" + cab
		}
		fs = append(fs, f)
	}
	if err := r.book.Apply(ctx, Evaluation{Findings: fs}); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	r.clk.Add(time.Hour) // past the leaders' delay: every audience has now been told of every alert
	r.tick(t)

	alerts := r.alerts(t, Filter{})
	if len(alerts) != len(reconcile.Kinds) {
		t.Fatalf("got %d alerts, want one per kind (%d)", len(alerts), len(reconcile.Kinds))
	}
	mails := r.smtp.Messages()
	var seen []string
	// The raw mail is checked only in its headers, with encoded words taken out: base64 is
	// random letters and would now and then spell a forbidden name. Subject and body are checked
	// decoded.
	encoded := regexp.MustCompile(`=\?[^?]+\?[bBqQ]\?[^?]*\?=`)
	for _, m := range mails {
		subject, body := m.Body(t)
		raw := strings.ReplaceAll(string(m.Data), "\r\n", "\n")
		headers, _, _ := strings.Cut(raw, "\n\n")
		seen = append(seen, encoded.ReplaceAllString(headers, ""), subject, body)
	}
	mu.Lock()
	seen = append(seen, wire...)
	mu.Unlock()
	if len(mails) < len(alerts)*2 || len(wire) < len(alerts)*4*2 {
		t.Fatalf("got %d mails and %d webhook calls, want every alert through every channel to at least two audiences", len(mails), len(wire))
	}
	word := regexp.MustCompile(`(?i)\bsecret\b`) // the bare level word, not the DingTalk "sign"
	for _, s := range seen {
		for _, f := range forbidden {
			if f != "" && strings.Contains(strings.ToLower(s), strings.ToLower(f)) {
				t.Errorf("an external notice holds %q:\n%s", f, s)
			}
		}
		if word.MatchString(s) {
			t.Errorf("an external notice holds the level word secret:\n%s", s)
		}
	}
	for _, a := range alerts {
		found := 0
		for _, s := range seen {
			if strings.Contains(s, a.Ref) {
				found++
			}
		}
		if found == 0 {
			t.Errorf("alert %s (%s) reached no external channel", a.Ref, a.Kind)
		}
	}
	// The monitor topic carries identifiers only: no title, document or item number, holder,
	// EPC or level word (rule 11) — the alert's kind and the item ids it may carry.
	r.mqtt(t, len(alerts))
	for _, b := range r.raw {
		for _, f := range forbidden {
			if isKindWord(f) {
				continue // the kind is published, by name
			}
			if f != "" && strings.Contains(strings.ToLower(string(b)), strings.ToLower(f)) {
				t.Errorf("the MQTT alert holds %q: %s", f, b)
			}
		}
		if word.Match(b) {
			t.Errorf("the MQTT alert holds the level word secret: %s", b)
		}
	}
}

func isKindWord(s string) bool {
	for _, k := range reconcile.Kinds {
		if s == string(k) || s == k.Text().ZH || s == k.Text().EN {
			return true
		}
	}
	return false
}

// The contract's own vectors: every good payload fits alert.schema.json, every bad one — a
// document number, a level word, a title, too many items — does not.
func TestPublishedAlertVectors(t *testing.T) {
	valid := alerttest.Schema(t, "alert.schema.json")
	v := alerttest.LoadPublishedVectors(t).Alert
	if len(v.Good) == 0 || len(v.Bad) == 0 {
		t.Fatal("no alert vectors")
	}
	for _, g := range v.Good {
		if err := valid(g.Payload); err != nil {
			t.Errorf("good vector %s refused: %v", g.Name, err)
		}
	}
	for _, b := range v.Bad {
		if err := valid(b.Payload); err == nil {
			t.Errorf("bad vector %s (%s) accepted", b.Name, b.Reason)
		}
	}
}

// A grouped alert of more items than a message may name names MaxMessageItems of them, says how
// many there are, and stays small: one cabinet of 300 missing copies is one bounded message.
func TestGroupedAlertMessageIsBounded(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var fs []reconcile.Finding
	for i := range 300 {
		fs = append(fs, reconcile.Finding{Kind: reconcile.Missing, Subject: fmt.Sprintf("item/%d", 100000+i), Confidence: reconcile.Confirmed, Cabinet: "C-01", Agent: "agent-a",
			ItemID: int64(1 + i%160), Item: strings.Repeat("京密〔2027〕73号", 20), At: night})
	}
	if err := r.book.Apply(ctx, Evaluation{Findings: fs}); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	m := r.mqtt(t, 1)[0]
	if m.Count != 300 || len(m.Items) != MaxMessageItems {
		t.Errorf("got count %d and %d item ids, want 300 and %d", m.Count, len(m.Items), MaxMessageItems)
	}
	if n := len(r.raw[0]); n > 4096 {
		t.Errorf("the message is %d bytes, want it bounded well below 4 KiB", n)
	}
}
