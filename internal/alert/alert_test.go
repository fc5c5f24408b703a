package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/alert/notify"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/sitetime"
	"github.com/custodyhq/custody/internal/store"
)

var night = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC) // 02:00 Beijing time

// commands records the inventory commands the checker sends. The agent that would run them is a
// later issue; the real MQTT command path is the daemon's wiring, so this records the calls.
type commands struct {
	mu   sync.Mutex
	sent []string
}

func (c *commands) CommandInventory(_ context.Context, agent, cabinet string, confirm bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, fmt.Sprintf("%s %s confirm=%v", agent, cabinet, confirm))
	return nil
}

func (c *commands) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

type rig struct {
	st   *store.Store
	site *alerttest.Site
	clk  *alerttest.Clock
	book *Book
	chk  *Checker
	esc  *Escalator
	cmd  *commands
	smtp *alerttest.SMTPServer
	sub  <-chan []byte
	raw  [][]byte // every MQTT alert message read by mqtt, as published

	schema func([]byte) error // firmware-protocol/mqtt/alert.schema.json
}

// newRig: cabinets C-01…C-04 of 40 items; agent-a serves C-01 and C-02, agent-b C-03 and C-04.
// Custodians, leaders and the secrecy office each get mail at their own address, through a real
// SMTP server; alerts go to a real MQTT broker.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{st: alerttest.OpenStore(t), clk: alerttest.NewClock(night), cmd: &commands{}, smtp: alerttest.StartSMTP(t), schema: alerttest.Schema(t, "alert.schema.json")}
	r.site = alerttest.Seed(t, r.st, 4, 40, func(c int) string { return map[bool]string{true: "agent-a", false: "agent-b"}[c <= 2] })
	r.book = NewBook(r.st, nil, r.clk.Now)
	r.chk = NewChecker(r.st, r.book, r.cmd, reconcile.Policy{}, alerttest.TestPrefix, nil)
	mailTo := func(addr string) notify.Channel {
		return &notify.Mail{Addr: r.smtp.Addr, From: "custody@unit.test", To: []string{addr}, Mode: notify.TLSNone}
	}
	routes := map[Audience][]notify.Channel{
		Custodians:    {mailTo("custodian@unit.test")},
		Leaders:       {mailTo("leaders@unit.test")},
		SecrecyOffice: {mailTo("bmb@unit.test")},
	}
	addr := alerttest.StartBroker(t)
	pub := alerttest.DialMQTT(t, addr, "custodyd")
	r.sub = alerttest.DialMQTT(t, addr, "integration").Subscribe(t, "custody/alerts")
	r.esc = NewEscalator(r.book, pub, "custody/alerts", routes, Policy{ConsoleURL: "https://console.unit.test"}, nil)
	return r
}

// round builds a complete five-pass report of a cabinet reading the given item numbers (1-based
// within the cabinet) on every pass, plus extra tags.
func (r *rig) round(cab int, id string, end time.Time, present func(i int) bool, extra ...reconcile.Tag) reconcile.Report {
	rep := reconcile.Report{Agent: map[bool]string{true: "agent-a", false: "agent-b"}[cab <= 2], Cabinet: alerttest.CabCode(cab), Round: id, Start: end.Add(-40 * time.Second), End: end, Passes: 5, Complete: true,
		Antennas: []reconcile.Antenna{{Port: 1, OK: true}, {Port: 2, OK: true}}}
	for i := 1; i <= 40; i++ {
		if present(i) {
			rep.Tags = append(rep.Tags, reconcile.Tag{EPC: r.site.EPCs[r.site.Items[fmt.Sprintf("%s/%d", alerttest.CabCode(cab), i)]], Antennas: []int{1}, RSSI: -50, Reads: 3 + i%4, Passes: 2 + i%4})
		}
	}
	rep.Tags = append(rep.Tags, extra...)
	return rep
}

func (r *rig) tick(t *testing.T) {
	t.Helper()
	if err := r.esc.Tick(context.Background()); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

// mailsTo counts received mails per recipient since index from.
func (r *rig) mailsTo(from int) map[string]int {
	out := map[string]int{}
	for _, m := range r.smtp.Messages()[from:] {
		for _, to := range m.To {
			out[to]++
		}
	}
	return out
}

func (r *rig) mqtt(t *testing.T, want int) []Message {
	t.Helper()
	var out []Message
	deadline := time.After(5 * time.Second)
	for len(out) < want {
		select {
		case b := <-r.sub:
			// Every message the tests see published is checked against the contract.
			if err := r.schema(b); err != nil {
				t.Errorf("alert on MQTT does not fit alert.schema.json: %v\n%s", err, b)
			}
			var m Message
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("alert on MQTT: %v: %s", err, b)
			}
			out = append(out, m)
			r.raw = append(r.raw, b)
		case <-deadline:
			t.Fatalf("got %d alert messages on MQTT, want %d", len(out), want)
		}
	}
	select {
	case b := <-r.sub:
		t.Fatalf("got an extra alert message on MQTT: %s", b)
	case <-time.After(100 * time.Millisecond):
	}
	return out
}

func (r *rig) alerts(t *testing.T, f Filter) []Alert {
	t.Helper()
	as, err := r.book.Alerts(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestOneMissedReadWakesNobody(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	yesterday := night.Add(-24*time.Hour + time.Minute)
	if _, err := r.chk.Report(ctx, r.round(1, "n0", yesterday, func(int) bool { return true })); err != nil {
		t.Fatal(err)
	}
	res, err := r.chk.Report(ctx, r.round(1, "n1", night.Add(time.Minute), func(i int) bool { return i != 7 }))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Confidence != reconcile.Suspected {
		t.Fatalf("got findings %+v, want one suspected missing", res.Findings)
	}
	if got := res.Findings[0].Evidence.LastSeen; !got.Equal(yesterday) {
		t.Errorf("got last seen %s, want the end of last night's round %s", got, yesterday)
	}
	if got := r.cmd.list(); !slices.Equal(got, []string{"agent-a C-01 confirm=true"}) {
		t.Errorf("got commands %q, want one confirming inventory of C-01", got)
	}
	r.tick(t)
	if n := len(r.smtp.Messages()); n != 0 {
		t.Errorf("got %d mails after one missed read, want none", n)
	}
	if as := r.alerts(t, Filter{}); len(as) != 0 {
		t.Errorf("got %d alerts after one missed read, want none", len(as))
	}
	// The confirming round reads it: the finding clears, nobody ever hears of it.
	r.clk.Add(time.Minute)
	if _, err := r.chk.Report(ctx, r.round(1, "c1", night.Add(2*time.Minute), func(int) bool { return true })); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	fs, _ := r.book.Findings(ctx, Filter{Active: true}, 0)
	if len(fs) != 0 || len(r.smtp.Messages()) != 0 {
		t.Errorf("got %d open findings and %d mails after the item was read again, want none", len(fs), len(r.smtp.Messages()))
	}
	r.mqtt(t, 0)
}

func TestThirtyMissingItemsAreOneAlertToEveryoneAtOnce(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	gone := func(i int) bool { return i > 30 } // items 1–30 are gone
	if _, err := r.chk.Report(ctx, r.round(1, "n1", night.Add(time.Minute), gone)); err != nil {
		t.Fatal(err)
	}
	// Two confirming rounds: the rig's tags read on 40–100 % of five passes and have no history
	// yet, so two misses leave a weak one's chance of being there unread above max_unread (issue
	// 22: the chance is the tag's, not the typical one's); the third miss confirms (max_misses).
	r.clk.Add(2 * time.Minute)
	if _, err := r.chk.Report(ctx, r.round(1, "c1", night.Add(2*time.Minute), gone)); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(2 * time.Minute)
	if _, err := r.chk.Report(ctx, r.round(1, "c2", night.Add(4*time.Minute), gone)); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	as := r.alerts(t, Filter{Active: true})
	if len(as) != 1 {
		t.Fatalf("got %d alerts, want one for the cabinet", len(as))
	}
	a := as[0]
	if a.Kind != reconcile.Missing || a.Count != 30 || a.Severity != Critical || !a.ConfirmedLoss || a.Cabinet != "C-01" || a.Room != "R-1" {
		t.Errorf("got alert %+v, want a critical confirmed-loss missing alert for C-01 in R-1 counting 30", a)
	}
	got := r.mailsTo(0)
	want := map[string]int{"custodian@unit.test": 1, "leaders@unit.test": 1, "bmb@unit.test": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got mails %v, want one each to custodian, leaders and the secrecy office %v", got, want)
	}
	msgs := r.mqtt(t, 1)
	if m := msgs[0]; m.Count != 30 || len(m.Items) != 30 || m.Cabinet != "C-01" || m.State != Open || m.Kind != reconcile.Missing || m.ID != a.Ref {
		t.Errorf("got MQTT alert %+v, want the 30 items of C-01 under ref %s", m, a.Ref)
	}
	// Ticking again sends nothing new: the re-notification interval has not passed.
	r.tick(t)
	if n := len(r.smtp.Messages()); n != 3 {
		t.Errorf("got %d mails after a second tick, want still 3", n)
	}
}

func TestLeadersHearOfUnacknowledgedAlertsAfterTheDelay(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	// A secret item of C-01 (item 1: document 1, level by seed) is read firmly in C-02.
	id := r.site.Items["C-01/1"]
	var level string
	r.st.DB().QueryRow(`SELECT d.level FROM items i JOIN documents d ON d.id = i.document_id WHERE i.id = ?`, id).Scan(&level)
	if level == string(custody.TopSecret) {
		t.Fatal("seed changed: C-01/1 should not be top-secret")
	}
	extra := reconcile.Tag{EPC: r.site.EPCs[id], Antennas: []int{1}, RSSI: -45, Reads: 10, Passes: 5}
	if _, err := r.chk.Report(ctx, r.round(2, "n1", night.Add(time.Minute), func(int) bool { return true }, extra)); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	if got := r.mailsTo(0); fmt.Sprint(got) != fmt.Sprint(map[string]int{"custodian@unit.test": 1}) {
		t.Fatalf("got mails %v, want only the custodian at once", got)
	}
	r.clk.Add(29 * time.Minute)
	r.tick(t)
	if n := len(r.smtp.Messages()); n != 1 {
		t.Fatalf("got %d mails 29 minutes on, want still 1", n)
	}
	r.clk.Add(time.Minute)
	r.tick(t)
	if got := r.mailsTo(1); fmt.Sprint(got) != fmt.Sprint(map[string]int{"leaders@unit.test": 1}) {
		t.Fatalf("got mails %v at 30 minutes, want the leaders told", got)
	}
	// The custodian acknowledges; no more reminders however long it stays open.
	a := r.alerts(t, Filter{Active: true})[0]
	if _, err := r.book.Acknowledge(ctx, "custodian1", a.ID, ""); !errors.Is(err, ErrNoNote) {
		t.Errorf("got %v acknowledging without a note, want ErrNoNote", err)
	}
	// An oversized note or one with a bidi override is refused naming the note; the history
	// checked below shows nothing was written.
	for _, bad := range []string{strings.Repeat("说", custody.MaxNote+1), "已放回\u202e回放已", "已\u200b放回"} {
		_, err := r.book.Acknowledge(ctx, "custodian1", a.ID, bad)
		var te *custody.TextError
		if !errors.As(err, &te) || !strings.Contains(te.Text.ZH, "处理说明") {
			t.Errorf("got %v acknowledging with a hostile note, want a refusal naming the note", err)
		}
		if _, err := r.book.Resolve(ctx, "custodian1", a.ID, bad); !errors.As(err, &te) {
			t.Errorf("got %v resolving with a hostile note, want a refusal", err)
		}
	}
	if _, err := r.book.Acknowledge(ctx, "custodian1", a.ID, "在2号柜找到，已放回"); err != nil {
		t.Fatal(err)
	}
	r.clk.Add(48 * time.Hour)
	r.tick(t)
	if n := len(r.smtp.Messages()); n != 2 {
		t.Errorf("got %d mails two days after the acknowledgement, want still 2", n)
	}
	hist, err := r.book.History(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, h := range hist {
		steps = append(steps, strings.Join(strings.Fields(h.Event+" "+string(h.Audience)+" "+h.Actor), " "))
	}
	want := []string{"opened system", "notified custodian system", "notified leaders system", "acknowledged custodian1"}
	if !slices.Equal(steps, want) {
		t.Errorf("got history %q, want %q", steps, want)
	}
}

func TestTopSecretGoesToLeadersAtOnceAndRenotifies(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var id int64
	r.st.DB().QueryRow(`SELECT i.id FROM items i JOIN documents d ON d.id = i.document_id JOIN cabinets c ON c.id = i.cabinet_id WHERE d.level = 'top-secret' AND c.code = 'C-01' LIMIT 1`).Scan(&id)
	extra := reconcile.Tag{EPC: r.site.EPCs[id], Antennas: []int{1}, RSSI: -45, Reads: 10, Passes: 5}
	if _, err := r.chk.Report(ctx, r.round(2, "n1", night.Add(time.Minute), func(int) bool { return true }, extra)); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	a := r.alerts(t, Filter{Active: true})[0]
	if a.Severity != Major || a.Level != custody.TopSecret {
		t.Errorf("got severity %s level %s, want major (warning bumped for top-secret) top-secret", a.Severity, a.Level)
	}
	if got := r.mailsTo(0); fmt.Sprint(got) != fmt.Sprint(map[string]int{"custodian@unit.test": 1, "leaders@unit.test": 1}) {
		t.Fatalf("got mails %v, want custodian and leaders at once", got)
	}
	r.clk.Add(2*time.Hour - time.Second)
	r.tick(t)
	if n := len(r.smtp.Messages()); n != 2 {
		t.Fatalf("got %d mails just before the re-notification interval, want 2", n)
	}
	r.clk.Add(time.Second)
	r.tick(t)
	if got := r.mailsTo(2); fmt.Sprint(got) != fmt.Sprint(map[string]int{"custodian@unit.test": 1, "leaders@unit.test": 1}) {
		t.Fatalf("got reminders %v after 2 h unacknowledged, want both told again", got)
	}
	subject, body := r.smtp.Messages()[2].Body(t)
	if !strings.Contains(subject, a.Ref) || !strings.Contains(body, "再次提醒") || !strings.Contains(body, "https://console.unit.test/alerts/"+a.Ref) {
		t.Errorf("got reminder %q / %q, want the ref, 再次提醒 and the console link", subject, body)
	}
}

func TestOfflineAgentInhibitsItsCabinetsAlerts(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.chk.Availability("agent-a", true, night.Add(-time.Hour))
	r.chk.Availability("agent-b", false, night.Add(-30*time.Minute))
	if err := r.chk.Site(ctx, reconcile.Hours{Start: 0, End: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, time.Minute, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	// The nightly deadline passes with no report from C-03 and C-04.
	missed := reconcile.Missed([]reconcile.Expectation{{Cabinet: "C-03", Agent: "agent-b"}, {Cabinet: "C-04", Agent: "agent-b"}}, night, night.Add(time.Hour), night.Add(time.Hour), r.chk.Offline(), sitetime.Default())
	if err := r.book.Apply(ctx, Evaluation{Findings: missed}); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	var kinds []string
	for _, a := range r.alerts(t, Filter{Active: true}) {
		kinds = append(kinds, fmt.Sprintf("%s %s suppressed=%v", a.Kind, a.Subject, a.SuppressedBy != ""))
	}
	sort.Strings(kinds)
	want := []string{"agent_offline agent/agent-b suppressed=false", "inventory_missed cabinet/C-03 suppressed=true", "inventory_missed cabinet/C-04 suppressed=true"}
	if !slices.Equal(kinds, want) {
		t.Errorf("got alerts %q, want %q", kinds, want)
	}
	if got := r.mailsTo(0); fmt.Sprint(got) != fmt.Sprint(map[string]int{"custodian@unit.test": 1}) {
		t.Errorf("got mails %v, want one to the custodian about the agent only", got)
	}
	if msgs := r.mqtt(t, 1); msgs[0].Kind != reconcile.AgentOffline {
		t.Errorf("got MQTT %+v, want only the agent_offline alert", msgs)
	}
	// The agent comes back: its alert resolves and the cabinets' alerts are released to people.
	r.clk.Add(10 * time.Minute)
	r.chk.Availability("agent-b", true, r.clk.Now())
	if err := r.chk.Site(ctx, reconcile.Hours{Start: 0, End: 24 * time.Hour, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}}, time.Minute, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	r.tick(t)
	if got := r.mailsTo(1); fmt.Sprint(got) != fmt.Sprint(map[string]int{"custodian@unit.test": 3}) {
		t.Errorf("got mails %v after the agent returned, want the two inventory_missed alerts and the agent's all-clear to the custodian", got)
	}
	cleared := 0
	for _, m := range r.smtp.Messages()[1:] {
		if _, body := m.Body(t); strings.Contains(body, "已解除") && strings.Contains(body, "resolved") {
			cleared++
		}
	}
	if cleared != 1 {
		t.Errorf("got %d all-clear notices, want 1 (the agent's alert resolved)", cleared)
	}
	r.mqtt(t, 3) // agent_offline resolved, two inventory_missed released
}

func TestAlertsResolveWhenTheConditionClearsExceptDestroyedTags(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	// Item C-01/5 is destroyed; its tag is read in C-01.
	id := r.site.Items["C-01/5"]
	if err := r.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE items SET state = 'destroyed', cabinet_id = NULL WHERE id = ?`, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	all := func(int) bool { return true }
	if _, err := r.chk.Report(ctx, r.round(1, "n1", night.Add(time.Minute), all)); err != nil {
		t.Fatal(err)
	}
	// C-02/3 is confirmed missing over three rounds (the rig's tags read on 40–100 % of five
	// passes and have no history: two misses leave its chance of being there above max_unread).
	noThree := func(i int) bool { return i != 3 }
	r.chk.Report(ctx, r.round(2, "n1b", night.Add(time.Minute), noThree))
	r.chk.Report(ctx, r.round(2, "c1b", night.Add(2*time.Minute), noThree))
	r.chk.Report(ctx, r.round(2, "c2b", night.Add(3*time.Minute), noThree))
	r.tick(t)
	as := r.alerts(t, Filter{Active: true})
	if len(as) != 2 {
		t.Fatalf("got %d alerts, want destroyed_seen and missing", len(as))
	}
	// Next night everything is where it should be and the destroyed tag is gone again.
	r.clk.Add(24 * time.Hour)
	r.chk.Report(ctx, r.round(1, "n2", night.Add(24*time.Hour), func(i int) bool { return i != 5 }))
	r.chk.Report(ctx, r.round(2, "n2b", night.Add(24*time.Hour), all))
	r.tick(t)
	left := r.alerts(t, Filter{Active: true})
	if len(left) != 1 || left[0].Kind != reconcile.DestroyedSeen {
		t.Fatalf("got open alerts %+v, want only destroyed_seen (a person must resolve it)", left)
	}
	missing := r.alerts(t, Filter{Kind: reconcile.Missing})[0]
	if missing.State != Resolved || missing.ResolvedBy != System {
		t.Errorf("got missing alert %s by %q, want resolved by the system", missing.State, missing.ResolvedBy)
	}
	if _, err := r.book.Resolve(ctx, "custodian1", left[0].ID, "销毁记录核实：标签未随件销毁，已补销毁"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.book.Acknowledge(ctx, "custodian1", left[0].ID, "again"); !errors.Is(err, ErrResolved) {
		t.Errorf("got %v acknowledging a resolved alert, want ErrResolved", err)
	}
	// All of it is in the audit chain, and the chain holds.
	res, err := r.st.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	actions := map[string]int{}
	r.st.AuditRecords(ctx, 1, func(rec audit.Record) error { actions[rec.Action]++; return nil })
	for _, a := range []string{"finding.open", "finding.confidence", "finding.clear", "alert.opened", "alert.notified", "alert.resolved"} {
		if actions[a] == 0 {
			t.Errorf("got no %s audit record among %d (%v), want at least one", a, res.Records, actions)
		}
	}
}

func TestBrokenAntennaIsNotAskedForeverToConfirm(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	for i := range 6 {
		rep := r.round(1, fmt.Sprintf("r%d", i), night.Add(time.Duration(i+1)*time.Minute), func(int) bool { return true })
		rep.Antennas[1] = reconcile.Antenna{Port: 2, OK: false, Fault: "reflected power too high"}
		if _, err := r.chk.Report(ctx, rep); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(r.cmd.list()); got != MaxConfirms {
		t.Errorf("got %d confirming commands for a cabinet whose antenna stays broken, want %d", got, MaxConfirms)
	}
	// One inventory_incomplete for a person to see, and the antenna's reader_fault alarm (issue 15).
	as := r.alerts(t, Filter{Active: true})
	kinds := map[reconcile.Kind]int{}
	for _, a := range as {
		kinds[a.Kind]++
	}
	if len(as) != 2 || kinds[reconcile.InventoryIncomplete] != 1 || kinds[reconcile.ReaderFault] != 1 {
		t.Errorf("got alerts %+v, want one inventory_incomplete and one reader_fault", as)
	}
	// Repaired: a complete round clears the incomplete inventory, and the next trouble may ask
	// again; the reader_fault's condition ends, and it waits for a person.
	if _, err := r.chk.Report(ctx, r.round(1, "ok", night.Add(10*time.Minute), func(int) bool { return true })); err != nil {
		t.Fatal(err)
	}
	as = r.alerts(t, Filter{Active: true})
	if len(as) != 1 || as[0].Kind != reconcile.ReaderFault || as[0].Count != 0 {
		t.Errorf("got open alerts %+v after a complete round, want only the reader_fault, its condition ended", as)
	}
	if _, err := r.chk.Report(ctx, r.round(1, "miss", night.Add(11*time.Minute), func(i int) bool { return i != 2 })); err != nil {
		t.Fatal(err)
	}
	if got := len(r.cmd.list()); got != MaxConfirms+1 {
		t.Errorf("got %d commands after a new suspected miss, want %d", got, MaxConfirms+1)
	}
}

func TestUnitsHaveTheirOwnPeople(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.st.Write(ctx, func(tx *sql.Tx) error {
		var unit int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO units(code, name, created_at) VALUES ('U2', '机要室', '2026-11-01T00:00:00Z') RETURNING id`).Scan(&unit); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE cabinets SET unit_id = ? WHERE code IN ('C-03', 'C-04')`, unit)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	r.esc.UnitRoutes("U2", map[Audience][]notify.Channel{
		Custodians: {&notify.Mail{Addr: r.smtp.Addr, From: "custody@unit.test", To: []string{"custodian@u2.test"}, Mode: notify.TLSNone}},
	})
	// A misplaced item in C-03 (unit U2) and one in C-01 (unit U1).
	// (C-02/11 is secret and C-04/1 confidential: neither goes to the leaders at once.)
	for c, from := range map[int]string{1: "C-02/11", 3: "C-04/1"} {
		extra := reconcile.Tag{EPC: r.site.EPCs[r.site.Items[from]], Antennas: []int{1}, RSSI: -45, Reads: 10, Passes: 5}
		if _, err := r.chk.Report(ctx, r.round(c, fmt.Sprintf("n%d", c), night.Add(time.Minute), func(int) bool { return true }, extra)); err != nil {
			t.Fatal(err)
		}
	}
	r.tick(t)
	if got, want := fmt.Sprint(r.mailsTo(0)), fmt.Sprint(map[string]int{"custodian@u2.test": 1, "custodian@unit.test": 1}); got != want {
		t.Errorf("got mails %s, want U2's custodian for C-03 and the default custodian for C-01 %s", got, want)
	}
}

// The history tells the story once (issue 21 point 2): an audience without a channel is
// recorded once per alert, not at every tick (it wrote three rows every 10 s per open alert,
// ~26 000 a day); and an alert that grows — another copy gone from the same cabinet — says so
// as a step of its own, with its time and the count before and after.
func TestHistoryRecordsAnAudienceWithoutAChannelOnceAndGrowthAsAStep(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	bare := NewEscalator(r.book, nil, "", nil, Policy{}, nil)                       // no channel for anyone
	gone := func(n int) func(int) bool { return func(i int) bool { return i > n } } // items 1…n gone
	for i, at := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if _, err := r.chk.Report(ctx, r.round(1, fmt.Sprintf("a%d", i), night.Add(at), gone(30))); err != nil {
			t.Fatal(err)
		}
	}
	r.clk.Add(4 * time.Minute)
	as := r.alerts(t, Filter{Active: true})
	if len(as) != 1 || !as[0].ConfirmedLoss {
		t.Fatalf("got alerts %+v, want one confirmed loss", as)
	}
	id := as[0].ID
	for range 30 { // five minutes of ticks, and an hour past every re-notification interval
		if err := bare.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		r.clk.Add(10 * time.Second)
	}
	r.clk.Add(2 * time.Hour)
	if err := bare.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	unrouted := 0
	if err := r.st.DB().QueryRow(`SELECT count(*) FROM alert_events WHERE alert_id = ? AND event = 'unrouted'`, id).Scan(&unrouted); err != nil {
		t.Fatal(err)
	}
	if unrouted != 3 {
		t.Errorf("got %d 'no channel' rows after 31 ticks over two hours, want 3 (custodians, leaders, secrecy office, once each)", unrouted)
	}

	// One more copy goes: after its confirming rounds the alert counts 31, and the history says when.
	for i := range 3 {
		r.clk.Add(2 * time.Minute)
		if _, err := r.chk.Report(ctx, r.round(1, fmt.Sprintf("b%d", i), r.clk.Now(), gone(31))); err != nil {
			t.Fatal(err)
		}
	}
	h, err := r.book.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var grew []Event
	for _, e := range h {
		if e.Event == "grew" {
			grew = append(grew, e)
		}
	}
	if len(grew) != 1 || grew[0].Detail != "30→31" || grew[0].At.IsZero() {
		t.Errorf("got growth steps %+v in the history %+v, want one 'grew' 30→31 with its time", grew, h)
	}
}
