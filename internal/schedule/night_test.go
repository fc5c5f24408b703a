package schedule

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/alert/notify"
	"github.com/custodyhq/custody/internal/reconcile"
)

// agents plays the two custody-agents (a later issue) against a simulated physical world: a
// command for agent-a is answered with the inventory report of what is really in the cabinet;
// agent-b is offline and answers nothing. Commands are served in order by one goroutine, as the
// agent's outbox would deliver them.
type agents struct {
	t     *testing.T
	chk   *alert.Checker
	clk   *alerttest.Clock
	world map[string][]string // cabinet → EPCs physically inside
	queue chan [2]string
	mu    sync.Mutex
	sent  []string
	busy  sync.WaitGroup
	round int
}

func (a *agents) CommandInventory(_ context.Context, agent, cabinet string, confirm bool) error {
	a.mu.Lock()
	a.sent = append(a.sent, fmt.Sprintf("%s %s confirm=%v", agent, cabinet, confirm))
	a.mu.Unlock()
	if agent == "agent-b" {
		return nil // queued in the broker for an agent that is not there
	}
	a.busy.Add(1)
	a.queue <- [2]string{agent, cabinet}
	return nil
}

func (a *agents) serve(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-a.queue:
			a.round++
			end := a.clk.Now()
			rep := reconcile.Report{Agent: c[0], Cabinet: c[1], Round: fmt.Sprintf("r%d", a.round), Start: end.Add(-40 * time.Second), End: end, Passes: 5, Complete: true,
				Antennas: []reconcile.Antenna{{Port: 1, OK: true}, {Port: 2, OK: true}}}
			for i, e := range a.world[c[1]] {
				rep.Tags = append(rep.Tags, reconcile.Tag{EPC: e, Antennas: []int{1 + i%2}, RSSI: -50, Reads: 6, Passes: 3 + i%3})
			}
			if _, err := a.chk.Report(ctx, rep); err != nil && ctx.Err() == nil {
				a.t.Errorf("report %s: %v", c[1], err)
			}
			a.busy.Done()
		}
	}
}

// run serves the agents and runs sch until the test ends. settle waits until the scheduler is
// parked on the clock and every round commanded so far has been reported.
func (a *agents) run(t *testing.T, sch *Scheduler) (settle func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.serve(ctx) }()
	go func() { defer wg.Done(); sch.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return func() {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); a.clk.Waiting() == 0; {
			if time.Now().After(deadline) {
				t.Fatal("the scheduler did not come back to wait")
			}
			time.Sleep(time.Millisecond)
		}
		a.busy.Wait()
	}
}

// TestFullNight is the "done when": a night with one item removed without checkout, one
// misplaced, one destroyed item's tag reappearing and one agent offline, all else in place,
// yields exactly the right alerts to the right people through MQTT and SMTP, and nothing else.
func TestFullNight(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := alerttest.OpenStore(t)
	site := alerttest.Seed(t, st, 4, 40, func(c int) string { return map[bool]string{true: "agent-a", false: "agent-b"}[c <= 2] })
	// Levels by seed: items 1–10 of a cabinet are confidential, 21–30 secret.
	removed, misplaced, destroyed := site.Items["C-01/7"], site.Items["C-01/22"], site.Items["C-02/25"]
	if err := st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE items SET state = 'destroyed', cabinet_id = NULL WHERE id = ?`, destroyed)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	world := map[string][]string{}
	for c := 1; c <= 4; c++ {
		for i := 1; i <= 40; i++ {
			id := site.Items[fmt.Sprintf("%s/%d", alerttest.CabCode(c), i)]
			if id == removed || id == misplaced {
				continue
			}
			world[alerttest.CabCode(c)] = append(world[alerttest.CabCode(c)], site.EPCs[id])
		}
	}
	world["C-02"] = append(world["C-02"], site.EPCs[misplaced]) // destroyed's tag is still in C-02's list

	clk := alerttest.NewClock(time.Date(2026, 11, 25, 17, 40, 0, 0, time.UTC)) // 01:40 Beijing
	smtp := alerttest.StartSMTP(t)
	addr := alerttest.StartBroker(t)
	pub := alerttest.DialMQTT(t, addr, "custodyd")
	sub := alerttest.DialMQTT(t, addr, "integration")
	alertsCh, summaryCh := sub.Subscribe(t, "custody/alerts"), sub.Subscribe(t, "custody/summary")

	book := alert.NewBook(st, nil, clk.Now)
	ag := &agents{t: t, clk: clk, world: world, queue: make(chan [2]string, 64)}
	chk := alert.NewChecker(st, book, ag, reconcile.Policy{}, alerttest.TestPrefix, nil)
	ag.chk = chk
	mailTo := func(to string) []notify.Channel {
		return []notify.Channel{&notify.Mail{Addr: smtp.Addr, From: "custody@unit.test", To: []string{to}, Mode: notify.TLSNone}}
	}
	esc := alert.NewEscalator(book, pub, "custody/alerts", map[alert.Audience][]notify.Channel{
		alert.Custodians: mailTo("custodian@unit.test"), alert.Leaders: mailTo("leaders@unit.test"), alert.SecrecyOffice: mailTo("bmb@unit.test"),
	}, alert.Policy{}, nil)
	sch, err := New(st, chk, book, ag, pub, Config{}, clk, nil)
	if err != nil {
		t.Fatal(err)
	}

	// The day: agent-b went offline at 01:30; at 17:00 yesterday the door of C-01 was opened and
	// item C-01/7 taken without a checkout.
	chk.Availability("agent-a", true, clk.Now().Add(-24*time.Hour))
	chk.Availability("agent-b", false, time.Date(2026, 11, 25, 17, 30, 0, 0, time.UTC))
	chk.Door("C-01", "open", "badge-0042", time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	chk.Door("C-01", "closed", "", time.Date(2026, 11, 25, 9, 0, 40, 0, time.UTC))

	settle := ag.run(t, sch)
	settle()                  // the first site checks: agent-b is offline
	clk.Add(20 * time.Minute) // 02:00 Beijing: the nightly inventory
	settle()
	// Wait for the scheduler to park again after the confirming rounds too.
	for clk.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := esc.Tick(ctx); err != nil {
		t.Fatal(err)
	}

	ag.mu.Lock()
	sent := slices.Clone(ag.sent)
	ag.mu.Unlock()
	wantCmds := []string{"agent-a C-01 confirm=false", "agent-a C-02 confirm=false", "agent-b C-03 confirm=false", "agent-b C-04 confirm=false", "agent-a C-01 confirm=true"}
	if !slices.Equal(sent, wantCmds) {
		t.Errorf("got commands %q, want %q", sent, wantCmds)
	}

	people := func() map[string][]string {
		out := map[string][]string{}
		for _, m := range smtp.Messages() {
			subject, _ := m.Body(t)
			for _, to := range m.To {
				out[to] = append(out[to], subject)
			}
		}
		return out
	}
	as, err := book.Alerts(ctx, alert.Filter{Active: true})
	if err != nil {
		t.Fatal(err)
	}
	told := people()
	var got []string
	for _, a := range as {
		var who []string
		for _, to := range []string{"custodian@unit.test", "leaders@unit.test", "bmb@unit.test"} {
			for _, s := range told[to] {
				if strings.Contains(s, a.Ref) {
					who = append(who, strings.TrimSuffix(to, "@unit.test"))
				}
			}
		}
		got = append(got, fmt.Sprintf("%s %s %s → %s", a.Kind, a.Subject, a.Severity, strings.Join(who, ",")))
	}
	sort.Strings(got)
	want := []string{
		"agent_offline agent/agent-b major → custodian",
		"destroyed_seen cabinet/C-02 critical → custodian,leaders,bmb",
		"misplaced cabinet/C-02 warning → custodian",
		"unrecorded_removal cabinet/C-01 critical → custodian,leaders,bmb",
	}
	if !slices.Equal(got, want) {
		t.Errorf("after the night's rounds got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(smtp.Messages()); n != 8 {
		t.Errorf("got %d mails, want 8 (4 + 2 + 2)", n)
	}
	fs, _ := book.Findings(ctx, alert.Filter{Active: true}, 0)
	for _, f := range fs {
		if f.Kind == reconcile.Missing {
			t.Errorf("got a missing finding for %s: the misplaced item must not also be missing", f.Item)
		}
	}
	var msgs []string
	alertSchema := alerttest.Schema(t, "alert.schema.json")
	for range 4 {
		select {
		case b := <-alertsCh:
			if err := alertSchema(b); err != nil {
				t.Errorf("alert on MQTT does not fit alert.schema.json: %v\n%s", err, b)
			}
			var m alert.Message
			json.Unmarshal(b, &m)
			msgs = append(msgs, fmt.Sprintf("%s %s %s %d", m.Kind, m.Cabinet, m.State, len(m.Items)))
		case <-time.After(5 * time.Second):
			t.Fatalf("got %d alerts on MQTT, want 4", len(msgs))
		}
	}
	sort.Strings(msgs)
	if want := []string{"agent_offline  open 0", "destroyed_seen C-02 open 1", "misplaced C-02 open 1", "unrecorded_removal C-01 open 1"}; !slices.Equal(msgs, want) {
		t.Errorf("got MQTT alerts %q, want %q", msgs, want)
	}

	// The custodian acknowledges all four; at 03:00 the deadline passes with nothing from agent-b.
	for _, a := range as {
		if _, err := book.Acknowledge(ctx, "custodian1", a.ID, "已知悉，正在处理"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(time.Hour)
	settle()
	for clk.Waiting() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := esc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	missed, _ := book.Alerts(ctx, alert.Filter{Active: true, Kind: reconcile.InventoryMissed})
	var mc []string
	for _, a := range missed {
		mc = append(mc, fmt.Sprintf("%s suppressed=%v", a.Cabinet, a.SuppressedBy != ""))
	}
	sort.Strings(mc)
	if want := []string{"C-03 suppressed=true", "C-04 suppressed=true"}; !slices.Equal(mc, want) {
		t.Errorf("got inventory_missed alerts %q, want %q (inhibited by the offline agent)", mc, want)
	}
	if n := len(smtp.Messages()); n != 8 {
		t.Errorf("got %d mails after the deadline, want still 8: the missed cabinets are explained by the offline agent", n)
	}
	select {
	case b := <-summaryCh:
		if err := alerttest.Schema(t, "summary.schema.json")(b); err != nil {
			t.Errorf("the morning summary does not fit summary.schema.json: %v\n%s", err, b)
		}
		var s struct {
			Units []UnitSummary `json:"units"`
		}
		json.Unmarshal(b, &s)
		if len(s.Units) != 1 || s.Units[0].Cabinets != 4 || s.Units[0].Reported != 2 || !slices.Equal(s.Units[0].Missed, []string{"C-03", "C-04"}) {
			t.Errorf("got morning summary %s, want unit U1: 4 cabinets, 2 reported, C-03 and C-04 missed", b)
		}
		if strings.Contains(string(b), "关于") {
			t.Errorf("the summary holds a title: %s", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("got no morning summary on MQTT")
	}
	runs, err := Runs(ctx, st, 5)
	if err != nil || len(runs) != 1 || len(runs[0].Summary) != 1 {
		t.Errorf("got runs %+v (%v), want the night recorded with its summary", runs, err)
	}
}

func TestScheduleInShanghaiTime(t *testing.T) {
	s, err := New(nil, nil, nil, nil, nil, Config{}, alerttest.NewClock(time.Time{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := s.Next(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)) // 20:00 Beijing
	if want := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got next run %s, want %s (02:00 Beijing)", got.UTC(), want)
	}
	for _, bad := range []Config{{Spec: "61 2 * * *"}, {TimeZone: "Mars/Olympus"}, {Deadline: -time.Minute}} {
		if _, err := New(nil, nil, nil, nil, nil, bad, nil, nil); err == nil {
			t.Errorf("got no error for %+v, want one naming the key", bad)
		}
	}
}

// The contract's vectors of the summary topic: the good fits summary.schema.json, a holder's
// name or more missed cabinets than a message may name do not.
func TestPublishedSummaryVectors(t *testing.T) {
	valid := alerttest.Schema(t, "summary.schema.json")
	v := alerttest.LoadPublishedVectors(t).Summary
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
	// What Close publishes for a unit with more missed cabinets than a message names.
	sum := []UnitSummary{{Unit: "U1", Cabinets: 300, Missed: make([]string, 250)}}
	for i := range sum[0].Missed {
		sum[0].Missed[i] = fmt.Sprintf("C-%03d", i)
	}
	b, _ := json.Marshal(summaryMessage(&Night{Start: time.Now(), Deadline: time.Now()}, sum))
	if err := valid(b); err != nil {
		t.Errorf("the published summary of 250 missed cabinets does not fit: %v", err)
	}
	if !strings.Contains(string(b), `"missed_count":250`) {
		t.Errorf("the summary does not say 250 were missed: %s", b)
	}
}
