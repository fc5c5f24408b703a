package register_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Every field limit of docs/limits.md, tried: each hostile value is refused as invalid with a
// message, and nothing is written (no document, person, agent or audit record).
func TestFieldLimitsRefuseHostileInput(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	audits := count(t, f.st, "audit")
	docs := []struct {
		name string
		edit func(d *register.Document)
	}{
		{"900 KB number", func(d *register.Document) { d.Number = strings.Repeat("京", 300_000) }},
		{"number one past the limit", func(d *register.Document) { d.Number = strings.Repeat("号", custody.MaxDocNumber+1) }},
		{"title too long", func(d *register.Document) { d.Title = strings.Repeat("通", custody.MaxTitle+1) }},
		{"NUL in number", func(d *register.Document) { d.Number = "京密\x00〔2027〕1号" }},
		{"control character in title", func(d *register.Document) { d.Title = "通知\x1b[31m" }},
		{"bidi override in number", func(d *register.Document) { d.Number = "京密\u202e〔2027〕1号" }},
		{"zero-width space in number", func(d *register.Document) { d.Number = "京密\u200b〔2027〕1号" }},
		{"invalid UTF-8 in title", func(d *register.Document) { d.Title = "通知\xff\xfe" }},
		{"date 9999-12-31", func(d *register.Document) { d.IssuedOn = "9999-12-31" }},
		{"date before 1949-10-01", func(d *register.Document) { d.IssuedOn = "1900-01-01" }},
		{"100 KB issuing unit", func(d *register.Document) { d.IssuingUnit = strings.Repeat("U", 100_000) }},
	}
	for _, tc := range docs {
		d := doc("京密〔2027〕73号", 2)
		tc.edit(&d)
		if _, _, err := f.reg.RegisterDocument(ctx, f.custodian, d); code(err) != register.CodeInvalid {
			t.Errorf("%s: got %v, want invalid", tc.name, err)
		} else if err.Error() == "" {
			t.Errorf("%s: refused without a message", tc.name)
		}
	}
	people := []string{"аdmin", "admin\u200b", "custodyd", "custody-monitor", "system", "", strings.Repeat("x", 33), "wang fang", "-lead"}
	for _, u := range people {
		if _, _, err := f.reg.AddPerson(ctx, f.admin, register.NewPerson{Username: u, Name: "某人", Unit: "BGS", Password: "long-enough-pw-1"}); code(err) != register.CodeInvalid {
			t.Errorf("username %q: got %v, want invalid", u, err)
		}
	}
	for _, id := range []string{"custodyd", "custody-monitor", "custodyd-1", "Custody-Monitor-x", "room\u202e1", strings.Repeat("r", 100_000)} {
		if _, _, err := f.reg.EnrollAgent(ctx, f.admin, id); code(err) != register.CodeInvalid {
			t.Errorf("agent id %q: got %v, want invalid", id[:min(len(id), 20)], err)
		}
	}
	for _, c := range []register.Cabinet{{Code: strings.Repeat("C", 100_000), Name: "柜"}, {Code: "C-9", Name: "柜\x00"}, {Code: "C-9", Name: "柜", Room: "R\u2066301"}} {
		if _, err := f.reg.AddCabinet(ctx, f.custodian, c); code(err) != register.CodeInvalid {
			t.Errorf("cabinet %q: got %v, want invalid", c.Code[:min(len(c.Code), 10)], err)
		}
	}
	if n := count(t, f.st, "documents"); n != 0 {
		t.Errorf("%d documents written", n)
	}
	if n := count(t, f.st, "agents"); n != 0 {
		t.Errorf("%d agents written", n)
	}
	if n := count(t, f.st, "audit"); n != audits {
		t.Errorf("refusals wrote %d audit records", n-audits)
	}
	// A title written in NFD is stored in NFC: one spelling per text.
	d := doc("京密〔2027〕74号", 1)
	d.Title = "Cafe\u0301 通知"
	got, _, err := f.reg.RegisterDocument(ctx, f.custodian, d)
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "Café 通知" {
		t.Errorf("got title %q, want it NFC-normalised", got.Title)
	}
}
