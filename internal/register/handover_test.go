package register_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

func lastAudit(t testing.TB, d *desk, action string) audit.Record {
	t.Helper()
	var got audit.Record
	found := false
	err := d.st.AuditRecords(context.Background(), 1, func(r audit.Record) error {
		if r.Action == action {
			got, found = r, true
		}
		return nil
	})
	if err != nil || !found {
		t.Fatalf("got no audit record %q (%v), want one", action, err)
	}
	return got
}

func TestBorrowAndReturnThroughTheDesk(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕1号", custody.Secret, 3, "BGS")
	due := d.now.Add(72 * time.Hour).Format("2006-01-02 15:04")
	s := d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: due}, "zhang.wei", items[:2])
	if s.State != "closed" || s.Count != 2 || s.Counterpart != "zhang.wei" || s.Custodian != "wang.fang" {
		t.Fatalf("got session %s count %d %s→%s, want closed 2 wang.fang→zhang.wei", s.State, s.Count, s.Custodian, s.Counterpart)
	}
	for _, id := range items[:2] {
		it := d.item(t, id)
		if it.State != custody.CheckedOut || it.Holder != "zhang.wei" || it.Due == "" || it.Purpose != "borrow" {
			t.Errorf("item %d: got %s holder %q due %q purpose %q, want checked_out by zhang.wei with a due time", id, it.State, it.Holder, it.Due, it.Purpose)
		}
	}
	if it := d.item(t, items[2]); it.State != custody.InCabinet {
		t.Errorf("unscanned item: got %s, want in_cabinet", it.State)
	}
	// Rule 1: one audit record for the handover, counted, with giver and receiver.
	rec := lastAudit(t, d, "handover.borrow")
	var after struct {
		Count int `json:"count"`
	}
	json.Unmarshal(rec.After, &after)
	if after.Count != 2 || strings.Join(rec.Parties, ",") != "wang.fang,zhang.wei" {
		t.Errorf("got audit count %d parties %v, want 2 and giver wang.fang, receiver zhang.wei", after.Count, rec.Parties)
	}

	r := d.handover(t, register.OpenRequest{Purpose: register.PurposeReturn}, "zhang.wei", items[:2])
	for _, id := range items[:2] {
		if it := d.item(t, id); it.State != custody.InCabinet || it.Cabinet != "C-01" || it.Holder != "" {
			t.Errorf("item %d after return: got %s in %q holder %q, want in_cabinet C-01", id, it.State, it.Cabinet, it.Holder)
		}
	}
	rec = lastAudit(t, d, "handover.return")
	if strings.Join(rec.Parties, ",") != "zhang.wei,wang.fang" || r.Count != 2 {
		t.Errorf("return: got parties %v count %d, want zhang.wei giving to wang.fang, 2", rec.Parties, r.Count)
	}
	hist, err := d.reg.History(ctx, d.p["wang.fang"], items[0])
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, e := range hist {
		steps = append(steps, e.Action+":"+e.Counterpart)
	}
	if got, want := strings.Join(steps, " "), "store: check_out:zhang.wei return:zhang.wei"; got != want {
		t.Errorf("chain of custody: got %q, want %q", got, want)
	}
	if _, err := d.st.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
}

func TestReadingRoomAndCirculationGetDefaults(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	items := d.receive(t, "办〔2026〕2号", custody.Confidential, 2, "BGS")
	d.handover(t, register.OpenRequest{Purpose: register.PurposeReadingRoom}, "chen.jing", items[:1])
	d.handover(t, register.OpenRequest{Purpose: register.PurposeCirculate}, "zhang.wei", items[1:])
	if it := d.item(t, items[0]); it.Purpose != "reading_room" || it.Place != "R301" || it.Due == "" {
		t.Errorf("reading room: got purpose %q place %q due %q, want reading_room in R301 with a due time", it.Purpose, it.Place, it.Due)
	}
	if it := d.item(t, items[1]); it.Purpose != "circulate" || it.Holder != "zhang.wei" {
		t.Errorf("circulation: got purpose %q holder %q, want circulate with zhang.wei", it.Purpose, it.Holder)
	}
}

func TestHandoverBadInput(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(t, "办〔2026〕3号", custody.Secret, 3, "BGS")
	due := d.now.Add(24 * time.Hour).Format(time.RFC3339)
	s, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: due})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: due})
	refused(t, err, register.CodeConflict, "已有未结束的交接", "already has an open handover")

	// A badge of someone without the right.
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("zhao.lei"))
	refused(t, err, register.CodeForbidden, "三员", "三员")
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("li.na"))
	refused(t, err, register.CodeForbidden, "没有阅文人或领导角色", "neither the reader nor the leader role")
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("wang.fang"))
	refused(t, err, register.CodeForbidden, "不能是机要员本人", "cannot be the custodian")

	// An unknown barcode.
	_, err = d.reg.Scan(ctx, wf, s.ID, "(253)06141411234525678")
	refused(t, err, register.CodeNotFound, "未知标签", "unknown label")
	_, err = d.reg.Scan(ctx, wf, s.ID, "99999")
	refused(t, err, register.CodeNotFound, "不存在", "does not exist")

	// A label scanned twice counts once.
	if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(items[0])); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Scan(ctx, wf, s.ID, "#"+itoa(items[0]))
	refused(t, err, register.CodeConflict, "已扫描过", "already scanned")
	res, err := d.reg.Scan(ctx, wf, s.ID, badge("zhang.wei"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.Count != 1 || res.Session.Counterpart != "zhang.wei" || res.Kind != "badge" {
		t.Errorf("running count: got %d with %q (%s), want 1 with zhang.wei", res.Session.Count, res.Session.Counterpart, res.Kind)
	}
	_, err = d.reg.Scan(ctx, wf, s.ID, badge("chen.jing"))
	refused(t, err, register.CodeConflict, "只能有一位对方", "one counterpart")

	// An item in the wrong state: listed for destruction.
	if _, err := d.reg.ListDestruction(ctx, wf, register.BatchRequest{Items: ids(items[2]), Reason: "过期"}); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[2]))
	refused(t, err, register.CodeRefused, "待销毁", "Awaiting destruction")

	// A wrong PIN confirms nothing.
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "000000"})
	refused(t, err, register.CodeForbidden, "PIN 不正确", "wrong PIN")

	// Abandoned half-way: nothing changes. Another custodian may do it, saying why.
	before := d.item(t, items[0])
	_, err = d.reg.AbandonSession(ctx, d.p["li.na"], s.ID, "")
	refused(t, err, register.CodeRefused, "须说明原因", "needs a reason")
	// The custodian who opened it says why too (issue 21 point 7); blanks are no reason.
	_, err = d.reg.AbandonSession(ctx, wf, s.ID, "  ")
	refused(t, err, register.CodeRefused, "放弃交接须说明原因", "needs a reason")
	ab, err := d.reg.AbandonSession(ctx, d.p["li.na"], s.ID, "王芳下班，对方已离开")
	if err != nil {
		t.Fatal(err)
	}
	if after := d.item(t, items[0]); ab.State != "abandoned" || after.State != before.State || after.Holder != "" {
		t.Errorf("abandoned: got session %s, item %s holder %q, want abandoned and the item untouched in_cabinet", ab.State, after.State, after.Holder)
	}
	_, err = d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin})
	refused(t, err, register.CodeConflict, "已放弃", "abandoned")
	_, err = d.reg.Scan(ctx, wf, s.ID, itoa(items[1]))
	refused(t, err, register.CodeConflict, "已放弃", "abandoned")
}

func TestDeskScanFeedsTheOpenSession(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕4号", custody.Secret, 1, "BGS")
	_, err := d.reg.DeskScan(ctx, "D-02", itoa(items[0]), "agent:desk-2")
	refused(t, err, register.CodeRefused, "没有进行中的交接", "no open handover")
	s, err := d.reg.OpenSession(ctx, d.p["wang.fang"], register.OpenRequest{Desk: "D-02", Purpose: register.PurposeCirculate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.DeskScan(ctx, "D-02", badge("chen.jing"), "agent:desk-2"); err != nil {
		t.Fatal(err)
	}
	res, err := d.reg.DeskScan(ctx, "D-02", itoa(items[0]), "agent:desk-2")
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.ID != s.ID || res.Session.Count != 1 || res.Session.Items[0].Source != "agent:desk-2" {
		t.Errorf("got session %d count %d, want the desk's open session %d with 1 item from agent:desk-2", res.Session.ID, res.Session.Count, s.ID)
	}
}

// Two custodians at two desks hand the same item over at the same moment: one wins, the other is
// refused with a clear message and its session stays open, unchanged.
func TestConcurrentHandoversOneWins(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕5号", custody.Secret, 1, "BGS")
	due := d.now.Add(24 * time.Hour).Format(time.RFC3339)
	sessions := map[string]register.Session{}
	for _, c := range []struct{ custodian, desk, reader string }{{"wang.fang", "D-01", "zhang.wei"}, {"li.na", "D-02", "chen.jing"}} {
		s, err := d.reg.OpenSession(ctx, d.p[c.custodian], register.OpenRequest{Desk: c.desk, Purpose: register.PurposeBorrow, Due: due})
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range []string{badge(c.reader), itoa(items[0])} {
			if _, err := d.reg.Scan(ctx, d.p[c.custodian], s.ID, code); err != nil {
				t.Fatal(err)
			}
		}
		sessions[c.custodian] = s
	}
	var wg sync.WaitGroup
	errs := map[string]error{}
	var mu sync.Mutex
	for who, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.reg.CloseSession(ctx, d.p[who], s.ID, register.CloseRequest{PIN: pin})
			mu.Lock()
			errs[who] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	var winner, loser string
	for who, err := range errs {
		if err == nil {
			winner = who
		} else {
			loser = who
		}
	}
	if winner == "" || loser == "" {
		t.Fatalf("got errors %v, want exactly one handover to succeed", errs)
	}
	refused(t, errs[loser], register.CodeRefused, "交接未完成，未作任何更改", "nothing changed")
	it := d.item(t, items[0])
	want := map[string]string{"wang.fang": "zhang.wei", "li.na": "chen.jing"}[winner]
	if it.Holder != want {
		t.Errorf("got holder %q, want %q (the winner's reader)", it.Holder, want)
	}
	ls, _ := d.reg.Session(ctx, d.p[loser], sessions[loser].ID)
	if ls.State != "open" {
		t.Errorf("loser's session: got %s, want still open", ls.State)
	}
}

// BenchmarkHandover50 closes a borrowing session of 50 items, with the PIN check, every rule
// check and the audit record. Figure: handover_50_items_ms (target ≤ 200).
//
// What limits it: the code — the PIN check (argon2id, deliberately slow) and the rule checks per
// item; the machine — core speed for the hash and one fsync for the commit.
func BenchmarkHandover50(b *testing.B) {
	d := newDesk(b)
	ctx := context.Background()
	wf := d.p["wang.fang"]
	items := d.receive(b, "办〔2026〕B号", custody.Secret, 50, "BGS")
	due := d.now.Add(24 * time.Hour).Format(time.RFC3339)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeBorrow, Due: due})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.reg.Scan(ctx, wf, s.ID, badge("zhang.wei")); err != nil {
			b.Fatal(err)
		}
		for _, id := range items {
			if _, err := d.reg.Scan(ctx, wf, s.ID, itoa(id)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		if _, err := d.reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: pin}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		// Return them for the next round (not timed).
		r, err := d.reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeReturn})
		if err != nil {
			b.Fatal(err)
		}
		d.reg.Scan(ctx, wf, r.ID, badge("zhang.wei"))
		for _, id := range items {
			d.reg.Scan(ctx, wf, r.ID, itoa(id))
		}
		if _, err := d.reg.CloseSession(ctx, wf, r.ID, register.CloseRequest{PIN: pin}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "handover_50_items_ms")
}

// Two custodians list the same item for destruction at the same moment: one batch gets it, the
// other is refused and writes nothing.
func TestConcurrentDestructionListsOneWins(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕701号", custody.Secret, 1, "BGS")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, who := range []string{"wang.fang", "li.na"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = d.reg.ListDestruction(ctx, d.p[who], register.BatchRequest{Items: items, Reason: "到期"})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("got %v and %v, want exactly one batch to list the item", errs[0], errs[1])
	}
	loser := errs[0]
	if loser == nil {
		loser = errs[1]
	}
	refused(t, loser, register.CodeRefused, "状态为“待销毁”的文件不能列入销毁清册", "cannot list for destruction an item that is Awaiting destruction")
	batches, _ := d.reg.Batches(ctx, d.p["wang.fang"])
	if len(batches) != 1 {
		t.Errorf("got %d batches, want 1 (the refused one wrote nothing)", len(batches))
	}
}
