package register_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Free text people type in workflows (reasons, notes, conclusions, receipt numbers, places) is
// held to docs/limits.md at every step that takes it: an oversized note, a bidi override, a
// zero-width character or a control character is refused as invalid, naming the field in both
// languages, and nothing is written — no approval, session, loss case, event, recall or audit.
func TestWorkflowNotesRefusedWithNothingWritten(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	wf, lq := d.p["wang.fang"], d.p["liu.qiang"]
	items := d.receive(t, "办〔2026〕90号", custody.Secret, 3)
	due := d.now.Add(48 * time.Hour).Format(time.RFC3339)
	ap, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "zhang.wei", Items: ids(items[0]), Due: due, Reason: "赴市委汇报"})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := d.reg.ReportLoss(ctx, wf, ids(items[1]), "清点时未见第2份")
	if err != nil {
		t.Fatal(err)
	}
	tables := []string{"approvals", "sessions", "loss_cases", "loss_case_events", "recalls", "destruction_batches", "audit"}
	rows := func() string {
		var b strings.Builder
		for _, tb := range tables {
			fmt.Fprintf(&b, "%s=%d ", tb, count(t, d.st, tb))
		}
		return b.String()
	}

	hostile := []struct {
		name, text, zh, en string
	}{
		{"oversized", strings.Repeat("说", custody.MaxNote+1), "过长", "too long"},
		{"bidi override", "同意\u202e意同不", "不可见或控制字符", "invisible or control"},
		{"zero-width", "同\u200b意", "不可见或控制字符", "invisible or control"},
		{"escape sequence", "同意\x1b[2J", "不可见或控制字符", "invisible or control"},
	}
	steps := []struct {
		field string // what the refusal names
		run   func(s string) error
	}{
		{"reason（申请事由）", func(s string) error {
			_, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "zhang.wei", Items: ids(items[2]), Due: due, Reason: s})
			return err
		}},
		{"note（审批意见）", func(s string) error { _, err := d.reg.Decide(ctx, lq, ap.ID, true, s); return err }},
		{"note（备注）", func(s string) error {
			_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: due, Note: s})
			return err
		}},
		{"place（地点）", func(s string) error {
			_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: due, Place: s})
			return err
		}},
		{"note（丢失经过）", func(s string) error { _, err := d.reg.ReportLoss(ctx, wf, ids(items[2]), s); return err }},
		{"note（追查情况）", func(s string) error { _, err := d.reg.NoteLossCase(ctx, wf, lc.ID, s); return err }},
		{"conclusion（追查结论）", func(s string) error { _, err := d.reg.CloseLossCase(ctx, lq, lc.ID, s); return err }},
		{"reason（销毁事由）", func(s string) error {
			_, err := d.reg.ListDestruction(ctx, wf, register.BatchRequest{Items: ids(items[2]), Reason: s})
			return err
		}},
		{"name（清退名称）", func(s string) error {
			_, err := d.reg.StartRecall(ctx, wf, register.RecallRequest{Name: s, Deadline: due, Documents: []string{"办〔2026〕90号"}})
			return err
		}},
		{"authority（决定机关）", func(s string) error {
			_, err := d.reg.Declassify(ctx, wf, "办〔2026〕90号", register.Decision{Authority: s, DecisionNo: "市保〔2026〕5号"})
			return err
		}},
	}
	before := rows()
	for _, st := range steps {
		for _, h := range hostile {
			err := st.run(h.text)
			refused(t, err, register.CodeInvalid, st.field, st.field)
			refused(t, err, register.CodeInvalid, h.zh, h.en)
		}
	}
	if after := rows(); after != before {
		t.Errorf("refused notes wrote rows:\nbefore %s\nafter  %s", before, after)
	}

	// A note keeps its line breaks (CR LF becomes LF) and is stored in NFC; the case shows it.
	got, err := d.reg.NoteLossCase(ctx, wf, lc.ID, "  第一行\r\n第二行：Cafe\u0301  ")
	if err != nil {
		t.Fatal(err)
	}
	if last := got.History[len(got.History)-1].Note; last != "第一行\n第二行：Café" {
		t.Errorf("stored note %q, want line breaks kept and NFC", last)
	}
}

// Typed due times, deadlines and expiries lie within a year ahead (custody.MaxAhead): a typo
// like 2099 is refused with the time named, and nothing is written.
func TestTypedDueTimesBounded(t *testing.T) {
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕91号", custody.Secret, 2)
	far := d.now.Add(custody.MaxAhead + 24*time.Hour).Format("2006-01-02")
	tables := []string{"approvals", "sessions", "recalls", "destruction_batches", "audit"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = count(t, d.st, tb)
	}
	for name, run := range map[string]func() error{
		"take-out due": func() error {
			_, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "zhang.wei", Items: ids(items[0]), Due: far, Reason: "汇报"})
			return err
		},
		"approval expiry": func() error {
			_, err := d.reg.RequestApproval(ctx, wf, register.ApprovalRequest{Kind: register.ApproveReproduce, Items: ids(items[0]), Copies: 1, Reason: "会议", Expires: far})
			return err
		},
		"borrow due": func() error {
			_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: "2099-12-31"})
			return err
		},
		"recall deadline": func() error {
			_, err := d.reg.StartRecall(ctx, wf, register.RecallRequest{Name: "年终清退", Deadline: "9999-12-31", Documents: []string{"办〔2026〕91号"}})
			return err
		},
		"destruction list expiry": func() error {
			_, err := d.reg.ListDestruction(ctx, wf, register.BatchRequest{Items: ids(items[1]), Reason: "到期销毁", Expires: far})
			return err
		},
		"destruction list expiry in the past": func() error {
			_, err := d.reg.ListDestruction(ctx, wf, register.BatchRequest{Items: ids(items[1]), Reason: "到期销毁", Expires: "2020-01-01"})
			return err
		},
		"a 10 KB time": func() error {
			_, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: strings.Repeat("9", 10_000)})
			return err
		},
	} {
		err := run()
		var re *register.Error
		if !errors.As(err, &re) || re.Code != register.CodeInvalid || re.Text.ZH == "" {
			t.Errorf("%s: got %v, want an invalid refusal", name, err)
		} else if strings.Contains(re.Text.EN, "99999") {
			t.Errorf("%s: the refusal repeats the hostile input (%d bytes)", name, len(re.Text.EN))
		}
	}
	for _, tb := range tables {
		if n := count(t, d.st, tb); n != before[tb] {
			t.Errorf("%s: %d rows written by refused requests", tb, n-before[tb])
		}
	}
	// Within the year is accepted.
	if _, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: d.now.Add(300 * 24 * time.Hour).Format("2006-01-02")}); err != nil {
		t.Errorf("due in 300 days: %v", err)
	}
}
