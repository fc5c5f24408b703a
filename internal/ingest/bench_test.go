package ingest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/wire"
)

// Benchmark knobs, from the environment so `make bench` runs the full figure and a quick
// local run can shorten it:
//
//	CUSTODY_BENCH_SECONDS     measured window (default 60)
//	CUSTODY_BENCH_PUBLISHERS  publisher processes, one agent each (default 2)
//	CUSTODY_BENCH_RATE        total envelopes/s the publishers aim at; 0 = as fast as they can (default 25000)
//	CUSTODY_BENCH_BROKER      "production" (default): a private mosquitto with deploy/mosquitto's
//	                          configuration — TLS, passwords, ACL, its queue and in-flight limits —
//	                          where custodyd has one connection (use_username_as_clientid);
//	                          "system": the Mosquitto on 127.0.0.1:1883 with its own defaults
//	                          (20 messages in flight, 1000 queued, then silent drops)
//	CUSTODY_BENCH_CONNS       with "system": ingest connections on one shared subscription (default 16)
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// BenchmarkIngest measures custodyd's ingest through Mosquitto as deployed (see the knobs): separate
// publisher processes send signed envelopes; ingest verifies, deduplicates and durably stores them
// (one SQLite transaction per batch, synchronous=FULL); a bare paho subscriber on the same stream
// only counts. It reports
//
//	ingest_envelopes_per_s  envelopes stored per second over the window
//	ingest_ratio_vs_bare    that rate divided by the bare subscriber's rate in the same window
//	ingest_rss_mb           resident memory of this process (ingest + the bare counter) at the end
//
// The figure is a rate over a fixed window, so the body runs once whatever b.N is.
func BenchmarkIngest(b *testing.B) {
	window := time.Duration(envInt("CUSTODY_BENCH_SECONDS", 60)) * time.Second
	publishers := max(envInt("CUSTODY_BENCH_PUBLISHERS", 2), 1)
	rate := envInt("CUSTODY_BENCH_RATE", 25000)
	conns := max(envInt("CUSTODY_BENCH_CONNS", 16), 1)
	const warmup = 2 * time.Second

	st := openStore(b, "")
	keys := make([][]byte, publishers)
	accounts := map[string]string{"bench-bare": randHex(16)}
	for i := range keys {
		keys[i] = enroll(b, st, fmt.Sprintf("bench-%d", i))
		accounts[fmt.Sprintf("bench-%d", i)] = base64.StdEncoding.EncodeToString(keys[i])
	}
	var e *env
	clientID := "custodyd-bench-" + randHex(4)
	if os.Getenv("CUSTODY_BENCH_BROKER") == "system" {
		e = mosquitto(b)
	} else {
		// The bare counter reads what custodyd reads, under an account of its own.
		e = productionMosquitto(b, accounts, "user bench-bare\ntopic read custody/agents/+/obs\n")
		conns, clientID = 1, "custodyd"
	}
	reg := prometheus.NewRegistry()
	in, err := ingest.New(ingest.Config{BrokerURL: e.url, Username: e.user, Password: e.pass, TLS: e.tls, Base: e.base, ClientID: clientID, Connections: conns, MaxBatch: 4096},
		st, st, nil, reg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.Run(ctx); close(done) }()
	defer func() {
		cancel()
		<-done
		for i := 0; i < conns && !e.auth; i++ {
			id := clientID
			if i > 0 {
				id += "-" + strconv.Itoa(i)
			}
			forgetSession(e, id)
		}
	}()
	waitFor(b, 10*time.Second, func() bool { return gauge(reg, "custody_ingest_connected") == float64(conns) }, "ingest to connect")

	// The bare subscriber gets the same number of connections (its own shared group), so both
	// consumers see the same broker limits per connection.
	var bare atomic.Int64
	bareFilter := wire.Topics{Base: e.base}.ObsFilter()
	if conns > 1 {
		bareFilter = "$share/bare-" + randHex(3) + "/" + bareFilter
	}
	for i := 0; i < conns; i++ {
		bo := paho.NewClientOptions().AddBroker(e.url).SetClientID("bare-" + randHex(4)).SetCleanSession(true).
			SetOrderMatters(true).SetDefaultPublishHandler(func(paho.Client, paho.Message) { bare.Add(1) })
		if e.auth {
			bo.SetUsername("bench-bare").SetPassword(accounts["bench-bare"]).SetTLSConfig(e.tls)
		}
		bc := paho.NewClient(bo)
		if tok := bc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatalf("bare subscriber: %v", tok.Error())
		}
		defer bc.Disconnect(100)
		if tok := bc.Subscribe(bareFilter, 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatalf("bare subscribe: %v", tok.Error())
		}
	}
	time.Sleep(200 * time.Millisecond)

	var wg sync.WaitGroup
	var published atomic.Int64
	perRate := rate / publishers
	for i := 0; i < publishers; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBenchPublisherChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CUSTODY_BENCH_CHILD=1", "CUSTODY_BROKER="+e.url, "CUSTODY_BASE="+e.base,
			"CUSTODY_AGENT="+fmt.Sprintf("bench-%d", i), "CUSTODY_KEY="+hex.EncodeToString(keys[i]),
			"CUSTODY_RATE="+strconv.Itoa(perRate), "CUSTODY_DURATION="+(warmup+window).String(), "CUSTODY_CA="+e.ca)
		cmd.Stderr = os.Stderr
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			b.Fatalf("publisher: %v", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "published "); ok {
					v, _ := strconv.ParseInt(n, 10, 64)
					published.Add(v)
				}
			}
			cmd.Wait()
		}()
	}

	stored := func() float64 { return metricValue(reg, "custody_ingest_stored_total", "") }
	time.Sleep(warmup)
	s0, b0, t0 := stored(), bare.Load(), time.Now()
	time.Sleep(window)
	s1, b1, el := stored(), bare.Load(), time.Since(t0)
	rss := rssMB()
	wg.Wait()
	// Drain: everything published must end up stored exactly once.
	deadline := time.Now().Add(120 * time.Second)
	for stored() < float64(published.Load()) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	rows := rows(b, st, "")
	ingestRate := (s1 - s0) / el.Seconds()
	bareRate := float64(b1-b0) / el.Seconds()
	b.Logf("window %s, %d publishers at %d/s target: published %d, stored %d rows (%v stored, dropped duplicate %v, resyncs %v); ingest %.0f/s, bare %.0f/s",
		window, publishers, rate, published.Load(), rows, stored(), dropped(&running{reg: reg}, "duplicate"),
		metricValue(reg, "custody_ingest_resync_requests_total", ""), ingestRate, bareRate)
	if rows < published.Load() {
		b.Errorf("stored %d of %d published envelopes", rows, published.Load())
	}
	b.ReportMetric(ingestRate, "ingest_envelopes_per_s")
	if bareRate > 0 {
		b.ReportMetric(ingestRate/bareRate, "ingest_ratio_vs_bare")
	}
	b.ReportMetric(rss, "ingest_rss_mb")
}

func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// TestBenchPublisherChild is one publisher process of BenchmarkIngest: an agent publishing signed
// door observations at a steady rate, answering resync from a deterministic outbox (an envelope
// is a pure function of its seq here).
func TestBenchPublisherChild(t *testing.T) {
	if os.Getenv("CUSTODY_BENCH_CHILD") == "" {
		return // only meaningful as a child of BenchmarkIngest
	}
	agent := os.Getenv("CUSTODY_AGENT")
	key, _ := hex.DecodeString(os.Getenv("CUSTODY_KEY"))
	rate, _ := strconv.Atoi(os.Getenv("CUSTODY_RATE"))
	dur, _ := time.ParseDuration(os.Getenv("CUSTODY_DURATION"))
	tp := wire.Topics{Base: os.Getenv("CUSTODY_BASE")}
	epoch := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	envelope := func(seq uint64) []byte {
		e, _ := wire.Seal(wire.DirObs, key, agent, "bench", seq, agent+"-"+strconv.FormatUint(seq, 10),
			epoch.Add(time.Duration(seq)*time.Millisecond), wire.KindDoor, door(int(seq)))
		p, _ := e.Marshal()
		return p
	}
	var next atomic.Uint64
	next.Store(1)
	resync := make(chan wire.Resync, 1024)
	o := paho.NewClientOptions().AddBroker(os.Getenv("CUSTODY_BROKER")).SetClientID(agent + "-" + randHex(3)).
		SetCleanSession(true).SetOrderMatters(false).SetMaxResumePubInFlight(1000).
		SetOnConnectHandler(func(c paho.Client) {
			c.Subscribe(tp.Cmd(agent), 1, func(_ paho.Client, m paho.Message) {
				e, err := wire.Parse(m.Payload(), wire.DirCmd)
				if err != nil || e.Verify(wire.DirCmd, key) != nil || e.Kind != wire.KindResync {
					return
				}
				if b, err := e.DecodeBody(wire.DirCmd); err == nil {
					select {
					case resync <- *b.(*wire.Resync):
					default:
					}
				}
			})
		})
	if ca := os.Getenv("CUSTODY_CA"); ca != "" { // the production broker: TLS, the agent's account
		pem, err := os.ReadFile(ca)
		if err != nil {
			fmt.Println("publisher: CA:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		o.SetTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}).
			SetClientID(agent).SetUsername(agent).SetPassword(base64.StdEncoding.EncodeToString(key))
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		fmt.Println("publisher: connect:", tok.Error())
		os.Exit(2)
	}
	// At most 1000 publishes awaiting the broker's PUBACK, like an agent's outbox window.
	window := make(chan paho.Token, 1000)
	waiterDone := make(chan struct{})
	go func() {
		for tok := range window {
			tok.Wait()
		}
		close(waiterDone)
	}()
	start := time.Now()
	var sent uint64
	for time.Since(start) < dur {
		select {
		case rs := <-resync:
			for s := rs.From; s < next.Load() && (rs.To == 0 || s <= rs.To); s++ {
				window <- c.Publish(tp.Obs(agent), 1, false, envelope(s))
			}
		default:
		}
		if rate > 0 {
			due := uint64(time.Since(start).Seconds() * float64(rate))
			if sent >= due {
				time.Sleep(time.Millisecond)
				continue
			}
		}
		seq := next.Load()
		window <- c.Publish(tp.Obs(agent), 1, false, envelope(seq))
		next.Add(1)
		sent++
	}
	close(window)
	<-waiterDone
	// Keep answering resync a little while, so what the broker dropped can still be fetched.
	quiet := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case rs := <-resync:
			for s := rs.From; s < next.Load() && (rs.To == 0 || s <= rs.To); s++ {
				c.Publish(tp.Obs(agent), 1, false, envelope(s)).Wait()
			}
			quiet = time.After(20 * time.Second)
		case <-quiet:
			done = true
		}
	}
	fmt.Printf("published %d\n", next.Load()-1)
	c.Disconnect(100)
}
