package register_test

import (
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Scope widening of a document issued outside the register (issue 14 point 5): the issuing unit
// (市委机要局) has no account here, yet its consent is recorded — by the document number of its
// letter, which a leader of the custodian's unit enters when deciding. Without the number the
// decision is refused and nothing changes; the widening's audit record names the issuing unit
// and the consent's number.
func TestScopeWideningRecordsTheOutsideIssuersConsent(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	if _, err := d.reg.AddUnit(ctx, d.p["admin"], register.Unit{Code: "SWJ", Name: "市委机要局"}); err != nil {
		t.Fatal(err)
	}
	doc := register.Document{Number: "市机〔2026〕5号", Title: "关于市机〔2026〕5号的绝密标题", IssuingUnit: "SWJ", Level: custody.Secret, IssuedOn: "2026-11-01", SecrecyTerm: "10年", Copies: 1, ScopeUnits: []string{"BGS"}}
	_, items, err := d.reg.Receive(ctx, wf, register.ReceiveRequest{Document: doc, Cabinet: "C-01", From: "市委机要局"})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveScope, Document: doc.Number, ScopePeople: []string{"sun.li"}, Reason: "科技处需阅办"})
	if err != nil {
		t.Fatalf("a scope request for a document issued outside: got %v, want it addressed to a leader here", err)
	}
	if ap.Unit != "BGS" {
		t.Errorf("got the request addressed to %q, want BGS (the custodian's unit receives the issuer's letter)", ap.Unit)
	}
	_, err = d.reg.DecideApproval(ctx, d.p["liu.qiang"], ap.ID, register.DecideRequest{Approve: true, Note: "同意"})
	refused(t, err, register.CodeRefused, "发文单位同意的文件文号", "consent")
	_, err = d.reg.WidenScope(ctx, wf, ap.ID)
	refused(t, err, register.CodeRefused, "", "")
	s := d.open(t, "wang.fang", register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "sun.li")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[0].ID))
	refused(t, err, register.CodeForbidden, "知悉范围", "readership scope")

	if _, err := d.reg.DecideApproval(ctx, d.p["liu.qiang"], ap.ID, register.DecideRequest{Approve: true, Note: "同意", Consent: "市机函〔2026〕3号"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.WidenScope(ctx, wf, ap.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0].ID)); err != nil {
		t.Fatalf("after the issuer's consent: got %v, want the scan accepted", err)
	}
	rec := lastAudit(t, d, "document.scope")
	for _, want := range []string{`"consent_of":"SWJ"`, `"consent":"市机函〔2026〕3号"`, `"decided_in":"BGS"`, `"approved_by":"liu.qiang"`} {
		if !strings.Contains(string(rec.After), want) {
			t.Errorf("got scope audit %s, want %s", rec.After, want)
		}
	}
}
