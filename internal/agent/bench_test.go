package agent

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/reader/sim"
	"github.com/custodyhq/custody/internal/wire"
)

// lineRate is what a 115200-baud serial link carries: 10 bits per byte on the wire.
const lineRate = 115200 / 10

// throttled writes no faster than a serial line at lineRate, in small chunks, as a UART does: a
// pseudo-terminal has no baud rate of its own.
type throttled struct {
	io.ReadWriter
	next time.Time
}

func (t *throttled) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := p[:min(len(p), 64)]
		now := time.Now()
		if t.next.Before(now) {
			t.next = now
		}
		t.next = t.next.Add(time.Duration(len(c)) * time.Second / lineRate)
		time.Sleep(time.Until(t.next))
		w, err := t.ReadWriter.Write(c)
		n += w
		if err != nil {
			return n, err
		}
		p = p[len(c):]
	}
	return n, nil
}

// TestBenchChild is the other process of BenchmarkAgent8Readers: eight simulated readers at line
// rate, each with 1250 tags on four antennas, and the broker. It runs only when the benchmark
// starts it (AGENT_BENCH_CHILD set), so that the agent's process holds the agent alone and its CPU
// time and memory can be measured.
func TestBenchChild(t *testing.T) {
	keyB64 := os.Getenv("AGENT_BENCH_CHILD")
	if keyB64 == "" {
		return
	}
	key, _ := base64.StdEncoding.DecodeString(keyB64)
	b, err := broker.Start(context.Background(), broker.Config{Listen: "127.0.0.1:0"}, keys{agentID: key}, nil)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	fmt.Println("BROKER", b.URL())
	ctx, cancel := context.WithCancel(context.Background())
	var ptys []*sim.PTY
	for r := range 8 {
		sc := sim.Scenario{Seed: uint64(r + 1)}
		for i := range 1250 {
			sc.Tags = append(sc.Tags, sim.Tag{EPC: fmt.Sprintf("E280116060%02X%012X", r, i), Antenna: 1 + i%4, RSSIDBm: -50 - i%20, ReadProbability: 0.8})
		}
		s, err := sim.NewR2000(sc)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		p, err := sim.OpenPTY()
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		ptys = append(ptys, p) // kept reachable: a collected PTY closes its slave and the master reads EIO
		go s.Serve(ctx, &throttled{ReadWriter: p.Master})
		fmt.Println("PTY", p.Path)
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin) // until the parent closes our stdin
	cancel()
	for _, p := range ptys {
		p.Close()
	}
	b.Close()
	os.Exit(0)
}

// BenchmarkAgent8Readers runs the agent against eight simulated readers at full line rate with
// 10 000 distinct tags, rounds back to back, and reports the agent process's CPU use in percent of
// one core (agent_cpu_pct_8readers) and its resident memory (agent_rss_mb). The simulators and
// the broker run in a child process so that they are not counted.
//
// What limits it: the code sets the CPU per tag read (decoding, round bookkeeping, outbox writes),
// which is what agent_cpu_pct_8readers measures; the machine's core speed scales it (a slower core
// shows a higher percentage for the same work) and the simulators' line rate bounds how many reads
// there are to handle. agent_rss_mb is the code's and should not move with the machine.
func BenchmarkAgent8Readers(b *testing.B) {
	key := testKey()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$")
	cmd.Env = append(os.Environ(), "AGENT_BENCH_CHILD="+base64.StdEncoding.EncodeToString(key))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var brokerURL string
	var ptys []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "READY" {
			break
		}
		switch f[0] {
		case "BROKER":
			brokerURL = f[1]
		case "PTY":
			ptys = append(ptys, f[1])
		case "ERR":
			b.Fatal(sc.Text())
		}
	}
	if len(ptys) != 8 {
		b.Fatalf("child gave %d ptys, want 8", len(ptys))
	}
	var src strings.Builder
	fmt.Fprintf(&src, "[agent]\nid = %q\nkey = %q\noutbox = %q\n[mqtt]\nbrokers = [%q]\n[rounds]\nquiet_passes = 2\nmax_passes = 4\ntime_limit = \"60s\"\n[schedule]\nevery = \"0s\"\nafter_power_return = true\n",
		agentID, b64(key), filepath.Join(b.TempDir(), "outbox.db"), brokerURL)
	for r, p := range ptys {
		fmt.Fprintf(&src, "[[reader]]\nid = \"r%d\"\ndriver = \"r2000\"\nport = %q\nflip_target = true\n", r, p)
		for a := 1; a <= 4; a++ {
			fmt.Fprintf(&src, "  [[reader.antenna]]\n  port = %d\n  cabinet = \"C-%d-%d\"\n", a, r, (a+1)/2)
		}
	}
	cfg, err := config.Parse([]byte(src.String()), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	a, err := Open(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done; a.Close() }()

	// Rounds back to back on every cabinet: triggers are merged while a round runs.
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for c := range a.cabinets {
					a.Trigger(c, modeNow, "benchmark")
				}
			}
		}
	}()
	// Warm up until every cabinet has reported once: 10 000 distinct tags have been seen.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		a.roundMu.Lock()
		n, tags := len(a.lastRuns), 0
		for _, r := range a.lastRuns {
			tags += r.Tags
		}
		a.roundMu.Unlock()
		if n == 16 && tags >= 9900 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("warm-up: %d of 16 cabinets reported, %d tags", n, tags)
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.ResetTimer()
	var cpu, wall time.Duration
	reads0 := a.Health().Outbox.LastSeq
	for b.Loop() {
		u0, t0 := cpuTime(), time.Now()
		time.Sleep(10 * time.Second)
		cpu += cpuTime() - u0
		wall += time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "agent_cpu_pct_8readers")
	b.ReportMetric(rssMB(), "agent_rss_mb")
	b.ReportMetric(float64(a.Health().Outbox.LastSeq-reads0)/wall.Seconds(), "observations/s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssMB is the resident set of this process from /proc/self/status.
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

// BenchmarkRoundToPublish measures, per round, the time from the end of the round (ended_at) to
// the envelope reaching a subscriber through the broker — outbox write with fsync, sealing,
// PUBLISH, PUBACK and delivery — and reports the 99th percentile (round_to_publish_ms).
//
// What limits it: the machine — the outbox's fsync (the disk's flush latency, often most of the
// figure) and scheduling delay on a loaded machine; the code — one fsync per envelope, sealing and
// one broker hop. A slow disk raises it; the code's share is what remains on a fast one.
func BenchmarkRoundToPublish(b *testing.B) {
	key := testKey()
	br := startBroker(b, "127.0.0.1:0", key)
	o := newObserver(b, br, key)
	r := newSimReader(b, scenario())
	cfg := benchConfig(b, br.URL(), key)
	a, err := Open(context.Background(), cfg, Options{Logger: slog.New(slog.DiscardHandler), OpenPort: func(rc config.Reader) (Port, error) {
		p, err := r.path()
		if err != nil {
			return nil, err
		}
		rc.Port = p
		return openSerial(rc)
	}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done; a.Close() }()
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		n := o.count()
		a.Trigger("C-07", modeNow, "benchmark")
		var got obs
		deadline := time.Now().Add(20 * time.Second)
		for got.body == nil {
			for _, g := range o.all()[n:] {
				if inventoryOf("C-07")(g) {
					got = g
				}
			}
			if time.Now().After(deadline) {
				b.Fatal("no inventory")
			}
			if got.body == nil {
				time.Sleep(time.Millisecond)
			}
		}
		arrived := time.Now()
		ended, _ := wire.ParseTime(got.body.(*wire.Inventory).Ended)
		lat = append(lat, arrived.Sub(ended))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p99.Microseconds())/1000, "round_to_publish_ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "round_to_publish_p50_ms")
}

func benchConfig(b *testing.B, brokerURL string, key []byte) config.Config {
	src := fmt.Sprintf(`
[agent]
id = %q
key = "%s"
outbox = %q
[mqtt]
brokers = [%q]
[[reader]]
id = "r1"
driver = "r2000"
port = "/dev/null"
  [[reader.antenna]]
  port = 1
  cabinet = "C-07"
  [[reader.antenna]]
  port = 2
  cabinet = "C-07"
[schedule]
every = "0s"
after_power_return = false
`, agentID, b64(key), filepath.Join(b.TempDir(), "outbox.db"), brokerURL)
	c, err := config.Parse([]byte(src), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	return c
}
