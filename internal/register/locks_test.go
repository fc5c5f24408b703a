package register_test

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
	"github.com/custodyhq/custody/internal/wire"
)

// sentLocks stands in for the agent's side of the lock path (the real one, through MQTT and a
// simulated controller, is tested end to end in internal/e2e): it records what reached it.
type sentLocks struct{ sent []string }

func (s *sentLocks) Lock(_ context.Context, agent, cabinet string) (wire.CmdResult, error) {
	s.sent = append(s.sent, "lock "+cabinet)
	ok := true
	return wire.CmdResult{Kind: wire.KindLock, OK: &ok}, nil
}

func (s *sentLocks) Unlock(_ context.Context, agent, cabinet string, seconds int) (wire.CmdResult, error) {
	s.sent = append(s.sent, "unlock "+cabinet)
	ok := true
	return wire.CmdResult{Kind: wire.KindUnlock, OK: &ok}, nil
}

// Only custodians unlock, with a reason; custodians and leaders lock. Every refused attempt —
// by a leader, the administrator, the auditor, a custodian without a reason — is refused with a
// zh-CN message naming who may, sends nothing to the cabinet, and is audited.
func TestRemoteUnlockIsForCustodiansWithAReason(t *testing.T) {
	ctx := context.Background()
	f := open(t, storetest.Target(t))
	if _, err := f.st.DB().Exec(`INSERT INTO agents(id, key, created_at) VALUES ('room-301', ?, '2026-11-01T00:00:00Z')`, []byte{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.DB().Exec(`UPDATE cabinets SET agent_id = 'room-301' WHERE code = 'C-01'`); err != nil {
		t.Fatal(err)
	}
	leader := f.person(t, "li.ming", custody.Leader)
	lc := &sentLocks{}
	for _, c := range []struct {
		who    register.Actor
		reason string
		want   string
	}{
		{leader, "查阅", register.CodeForbidden},
		{f.admin, "查阅", register.CodeForbidden},
		{f.auditor, "查阅", register.CodeForbidden},
		{f.custodian, " ", register.CodeInvalid},
	} {
		_, err := f.reg.UnlockCabinet(ctx, c.who, "C-01", 30, c.reason, lc)
		if code(err) != c.want {
			t.Errorf("%s unlocks: got %v, want %s", c.who.Username, err, c.want)
		}
	}
	if _, err := f.reg.LockCabinet(ctx, f.auditor, "C-01", lc); code(err) != register.CodeForbidden {
		t.Errorf("auditor locks: got %v, want forbidden", err)
	} else if re, ok := err.(*register.Error); !ok || re.Text.ZH == "" {
		t.Errorf("refusal without a zh-CN message: %v", err)
	}
	if len(lc.sent) != 0 {
		t.Fatalf("refused attempts reached the cabinet: %v", lc.sent)
	}
	if _, err := f.reg.LockCabinet(ctx, leader, "C-01", lc); err != nil {
		t.Fatalf("leader locks: %v", err)
	}
	out, err := f.reg.UnlockCabinet(ctx, f.custodian, "C-01", 20, "取阅国保〔2026〕1号", lc)
	if err != nil || !out.OK || out.Seconds != 20 || out.Agent != "room-301" {
		t.Fatalf("custodian unlocks: got %+v, %v", out, err)
	}
	actions := map[string]int{}
	f.st.AuditRecords(ctx, 1, func(rec audit.Record) error { actions[rec.Action]++; return nil })
	if actions["cabinet.unlock.refused"] != 4 || actions["cabinet.lock.refused"] != 1 || actions["cabinet.lock"] != 1 || actions["cabinet.unlock"] != 1 {
		t.Fatalf("audit: got %v, want 4 refused unlocks, 1 refused lock, 1 lock, 1 unlock", actions)
	}
}
