package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/alert/alerttest"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
)

// BenchmarkSiteNight is reconcile_site_100k_s: a site of 200 cabinets × 500 items. All 200 nightly
// reports arrive at once (the worst case: every agent answers the 02:00 command together), so
// the time from the last report to the last alert is the time to reconcile all of them, store
// the findings and raise the alerts. Each night 10 items are misplaced and 5 foreign tags read,
// and the previous night's misplacements are back in place (their alerts resolve).
//
// What limits it: the machine — SQLite's fsyncs (findings and alerts are stored in transactions)
// and the cores reconciling; the code — reconcile's work per item (maps, one pass per report) and
// the number of transactions per report. A slower disk raises it most.
func BenchmarkSiteNight(b *testing.B) {
	const cabinets, per = 200, 500
	st := alerttest.OpenStore(b)
	site := alerttest.Seed(b, st, cabinets, per, func(c int) string { return fmt.Sprintf("agent-%02d", (c+3)/4) })
	ctx := context.Background()
	clk := alerttest.NewClock(time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC))
	book := NewBook(st, nil, clk.Now)
	chk := NewChecker(st, book, nil, reconcile.Policy{}, alerttest.TestPrefix, nil)
	var total time.Duration
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		clk.Add(24 * time.Hour)
		moved := map[int64]int{} // item → cabinet it is in tonight
		for k := range 10 {
			from := 1 + (n*10+k*7)%cabinets
			moved[site.Items[fmt.Sprintf("%s/%d", alerttest.CabCode(from), 1+(n+k)%per)]] = 1 + from%cabinets
		}
		reports := make([]reconcile.Report, cabinets)
		for c := 1; c <= cabinets; c++ {
			r := reconcile.Report{Agent: fmt.Sprintf("agent-%02d", (c+3)/4), Cabinet: alerttest.CabCode(c), Round: fmt.Sprintf("n%d-%d", n, c), Start: clk.Now().Add(-time.Minute), End: clk.Now(), Passes: 5, Complete: true,
				Antennas: []reconcile.Antenna{{Port: 1, OK: true}, {Port: 2, OK: true}, {Port: 3, OK: true}, {Port: 4, OK: true}}}
			for i := 1; i <= per; i++ {
				id := site.Items[fmt.Sprintf("%s/%d", alerttest.CabCode(c), i)]
				if _, ok := moved[id]; ok {
					continue
				}
				r.Tags = append(r.Tags, reconcile.Tag{EPC: site.EPCs[id], Antennas: []int{1 + i%4}, RSSI: -55, Reads: 4 + i%5, Passes: 2 + i%4})
			}
			reports[c-1] = r
		}
		for id, to := range moved {
			reports[to-1].Tags = append(reports[to-1].Tags, reconcile.Tag{EPC: site.EPCs[id], Antennas: []int{2}, RSSI: -50, Reads: 9, Passes: 5})
		}
		for k := range 5 {
			c := (n*5 + k*31) % cabinets
			reports[c].Tags = append(reports[c].Tags, reconcile.Tag{EPC: fmt.Sprintf("E2801160600002%010X", n*5+k), Antennas: []int{1}, RSSI: -60, Reads: 6, Passes: 4})
		}
		b.StartTimer()
		start := time.Now()
		for _, r := range reports {
			if _, err := chk.Report(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
		total += time.Since(start)
		b.StopTimer()
		as, err := book.Alerts(ctx, Filter{Active: true, Kind: reconcile.Misplaced})
		if err != nil || len(as) == 0 {
			b.Fatalf("got %d misplaced alerts (%v), want some", len(as), err)
		}
		b.StartTimer()
	}
	// The same night on PostgreSQL (make bench runs it with CUSTODY_TEST_STORE=postgres) is
	// reconcile_site_100k_pg_s.
	name := "reconcile_site_100k_s"
	if st.Dialect() == store.Postgres {
		name = "reconcile_site_100k_pg_s"
	}
	b.ReportMetric(total.Seconds()/float64(b.N), name)
}

// BenchmarkAlertPublish is alert_publish_p99_ms: from a confirmed finding being recorded to its
// alert arriving at a subscriber of custody/alerts, through the real broker (mochi-mqtt, as
// custodyd embeds it) with the escalator running as in custodyd.
//
// What limits it: the machine — the SQLite commit (fsync) that records the alert and scheduling on
// a loaded machine; the code — the escalator's wake-up on change (no polling) and one in-process
// broker hop.
func BenchmarkAlertPublish(b *testing.B) {
	st := alerttest.OpenStore(b)
	site := alerttest.Seed(b, st, 4, 40, func(c int) string { return "agent-a" })
	addr := alerttest.StartBroker(b)
	pub := alerttest.DialMQTT(b, addr, "custodyd")
	sub := alerttest.DialMQTT(b, addr, "integration").Subscribe(b, "custody/alerts")
	book := NewBook(st, nil, nil)
	esc := NewEscalator(book, pub, "custody/alerts", nil, Policy{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { esc.Run(ctx) })
	defer wg.Wait()
	defer cancel()
	var lat []time.Duration
	k := 0
	for b.Loop() {
		k++
		cab := alerttest.CabCode(1 + k%4)
		id := site.Items[fmt.Sprintf("%s/%d", cab, 1+k%40)]
		f := reconcile.Finding{Kind: reconcile.Missing, Subject: fmt.Sprintf("item/%d", id), Confidence: reconcile.Confirmed, Cabinet: cab, Agent: "agent-a", ItemID: id,
			Item: fmt.Sprintf("bench/%d", k), Level: custody.Secret, At: time.Now(), Evidence: reconcile.Evidence{Misses: 2}}
		start := time.Now()
		if err := book.Apply(ctx, Evaluation{Findings: []reconcile.Finding{f}}); err != nil {
			b.Fatal(err)
		}
		for got := false; !got; {
			select {
			case msg := <-sub:
				var m Message
				json.Unmarshal(msg, &m)
				got = m.State == Open && slices.Contains(m.Items, f.ItemID)
			case <-time.After(5 * time.Second):
				b.Fatal("no alert on MQTT within 5 s")
			}
		}
		lat = append(lat, time.Since(start))
		b.StopTimer()
		// Clear it again so the next sample opens a fresh alert.
		if err := book.Apply(ctx, Evaluation{Cleared: []reconcile.Key{f.Key()}}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p99.Microseconds())/1000, "alert_publish_p99_ms")
}
