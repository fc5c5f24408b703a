package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/wire"
)

// An agent configured with [crypto] profile = "sm" MACs its envelopes with HMAC-SM3 and names
// it; it obeys a command MACed with HMAC-SM3 and ignores the same command MACed with
// HMAC-SHA256 under its key (a downgrade is not a fallback on this side either).
func TestSMProfileAgent(t *testing.T) {
	key := testKey()
	b := startBroker(t, "127.0.0.1:0", key)
	o := newObserver(t, b, key)
	o.mac = wire.MACSM3
	l := &locks{}
	cfg := testConfig(t, b.URL(), key)
	cfg.Crypto.Profile = "sm"
	cfg.Schedule.AfterPowerReturn = false
	runAgent(t, cfg, nil, Options{Locks: l})
	waitFor(t, 10*time.Second, "agent online", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.avail) > 0 && o.avail[len(o.avail)-1] == `{"state":"online"}`
	})

	downgraded, _ := wire.Seal(wire.DirCmd, key, agentID, "custodyd-boot", 1, "cmd-sha256", time.Now(), wire.KindUnlock, wire.Unlock{Cabinet: "C-08", Seconds: 30})
	p, _ := downgraded.Marshal()
	o.client.Publish(wire.Topics{}.Cmd(agentID), 1, false, p).Wait()

	id := o.command(wire.KindUnlock, wire.Unlock{Cabinet: "C-07", Seconds: 30}, time.Now())
	g, _ := o.wait(0, 10*time.Second, "unlock result", resultOf(id))
	if g.env.MACAlg != wire.MACSM3 {
		t.Fatalf("the agent's envelope names %q, want hmac-sm3", g.env.MACAlg)
	}
	if res := g.body.(*wire.CmdResult); !*res.OK {
		t.Fatalf("unlock under sm: got %+v, want ok", res)
	}
	l.mu.Lock()
	got := strings.Join(l.calls, ", ")
	l.mu.Unlock()
	if got != "unlock C-07 30s" {
		t.Fatalf("controller calls: got %q, want only the HMAC-SM3 unlock (the HMAC-SHA256 one ignored)", got)
	}
	for _, g := range o.all() {
		if r, ok := g.body.(*wire.CmdResult); ok && r.Cmd == "cmd-sha256" {
			t.Fatal("the HMAC-SHA256 command was answered")
		}
	}
}
