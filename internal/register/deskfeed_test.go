package register_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/wire"
)

// The desk's scanner feeds the open handover through the agent's scan observations.
func TestDeskFeedFromAgentScans(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := register.Actor{ID: 1, Username: "admin", Roles: []custody.Role{custody.Admin}}
	_, key, err := d.reg.EnrollAgent(ctx, admin, "desk-agent-3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.reg.AddDesk(ctx, d.p["wang.fang"], register.Desk{Code: "D-03", Name: "三号工作台", Agent: "desk-agent-3"}); err != nil {
		t.Fatal(err)
	}
	items := d.receive(t, "办〔2026〕601号", custody.Secret, 2, "BGS")
	s := d.open(t, "wang.fang", register.OpenRequest{Desk: "D-03", Purpose: register.PurposeCirculate}, "")

	feed := d.reg.NewDeskFeed(8)
	done := make(chan error, 1)
	go func() { done <- feed.Run(ctx) }()
	var seq uint64
	envOf := func(sym, data string) wire.Envelope {
		seq++
		e, err := wire.Seal(wire.DirObs, key, "desk-agent-3", "boot-1", seq, fmt.Sprintf("scan-%d", seq), time.Now(), wire.KindScan,
			wire.Scan{Desk: "D-03", Scanner: "hs-1", Symbology: sym, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	env := func(data string) wire.Envelope { return envOf("code128", data) }
	// A read the agent could not decode comes as unreadable, with its cause; one that names an
	// item's number is still not taken as that item.
	feed.HandleObservations(ctx, []wire.Envelope{env(badge("zhang.wei")), env(itoa(items[0])), env("NO-SUCH-LABEL"), envOf(wire.SymbologyUnreadable, "control"),
		envOf(wire.SymbologyUnreadable, itoa(items[1])), env(itoa(items[1]))})
	var got register.Session
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, _ = d.reg.Session(ctx, d.p["wang.fang"], s.ID)
		if got.Count == 2 && len(got.Rejected) == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Count != 2 || got.Counterpart != "zhang.wei" || got.Items[0].Source != "agent:desk-agent-3" {
		t.Fatalf("got %d items with %q, want 2 from the agent with zhang.wei", got.Count, got.Counterpart)
	}
	if len(got.Rejected) != 3 || got.Rejected[0].Scan != "NO-SUCH-LABEL" || got.Rejected[0].Reason.ZH == "" {
		t.Fatalf("got rejected %+v, want the unknown label with its reason and two unreadable reads", got.Rejected)
	}
	if r := got.Rejected[1]; r.Scan != "" || r.Reason.ZH != "扫描枪未能读出条码（含有控制字符），未记录：请重新扫描" {
		t.Errorf("unreadable read: got %q %q, want no scan and the zh-CN word to scan again", r.Scan, r.Reason.ZH)
	}
	if r := got.Rejected[2]; !strings.Contains(r.Reason.ZH, "请重新扫描") {
		t.Errorf("unreadable read with an unknown cause: got %q, want scan again", r.Reason.ZH)
	}
	// A typed scan refused is kept in the same list, so it stays after the next scan and a
	// reload; a refusal after the handover ended is not kept.
	_, err = d.reg.Scan(ctx, d.p["wang.fang"], s.ID, "NO-SUCH-TYPED")
	refused(t, err, register.CodeNotFound, "未知标签", "unknown label")
	if got, _ = d.reg.Session(ctx, d.p["wang.fang"], s.ID); len(got.Rejected) != 4 || got.Rejected[3].Scan != "NO-SUCH-TYPED" || got.Rejected[3].Source != "typed" {
		t.Errorf("typed refusal: got %+v, want it kept as the fourth, typed", got.Rejected)
	}
	if _, err := d.reg.AbandonSession(ctx, d.p["wang.fang"], s.ID, "对方改日再来"); err != nil {
		t.Fatal(err)
	}
	_, err = d.reg.Scan(ctx, d.p["wang.fang"], s.ID, "NO-SUCH-TYPED")
	refused(t, err, register.CodeConflict, "已放弃", "abandoned")
	if got, _ = d.reg.Session(ctx, d.p["wang.fang"], s.ID); len(got.Rejected) != 4 {
		t.Errorf("after the handover ended: got %d rejections kept, want still 4", len(got.Rejected))
	}
	// Another agent cannot feed this desk.
	_, err = d.reg.AgentScan(ctx, "cabinet-agent-9", "D-03", itoa(items[0]))
	refused(t, err, register.CodeForbidden, "不服务于工作台 D-03", "does not serve desk D-03")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("feed stopped with %v", err)
	}
}
