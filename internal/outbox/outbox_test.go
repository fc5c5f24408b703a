package outbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/testenv"
)

func open(t testing.TB, path string, opt Options) *Outbox {
	t.Helper()
	o, err := Open(context.Background(), path, opt)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func rec(i int) Record {
	return Record{ID: fmt.Sprintf("m%d", i), Boot: "b1", Kind: "door", At: time.Unix(1700000000, int64(i)), Body: []byte(fmt.Sprintf(`{"i":%d}`, i))}
}

func TestAppendPendingAckInOrder(t *testing.T) {
	ctx := context.Background()
	o := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{})
	var seqs []uint64
	for i := range 10 {
		e, err := o.Append(ctx, rec(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(seqs) > 0 && e.Seq <= seqs[len(seqs)-1] {
			t.Fatalf("seq %d after %d: got not increasing, want strictly increasing", e.Seq, seqs[len(seqs)-1])
		}
		seqs = append(seqs, e.Seq)
	}
	// Acknowledge out of order, as QoS 1 acks may arrive.
	for _, s := range []uint64{seqs[3], seqs[0], seqs[7]} {
		if err := o.Ack(ctx, s, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Ack(ctx, seqs[3], time.Now()); err != nil {
		t.Fatalf("second ack of the same seq: got %v, want nil", err)
	}
	p, err := o.Pending(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range p {
		got = append(got, string(e.Body))
	}
	want := []string{`{"i":1}`, `{"i":2}`, `{"i":4}`, `{"i":5}`, `{"i":6}`, `{"i":8}`, `{"i":9}`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pending: got %v, want %v", got, want)
	}
	if p[0].At != rec(1).At.UTC() || p[0].ID != "m1" || p[0].Boot != "b1" || p[0].Kind != "door" {
		t.Fatalf("entry fields: got %+v, want those of rec(1)", p[0])
	}
	p2, _ := o.Pending(ctx, p[2].Seq, 2)
	if len(p2) != 2 || p2[0].Seq != p[3].Seq {
		t.Fatalf("pending after %d limit 2: got %d entries starting %d, want 2 starting %d", p[2].Seq, len(p2), p2[0].Seq, p[3].Seq)
	}
	if l := o.Level(); l.Entries != 7 || l.Bytes != 7*7 || l.HeldEntries != 10 {
		t.Fatalf("level: got %+v, want 7 pending entries of 49 bytes, 10 held", l)
	}
	// Acknowledged entries stay for a resync until pruned.
	if old, _ := o.Oldest(ctx); old != seqs[0] {
		t.Fatalf("oldest: got %d, want %d", old, seqs[0])
	}
	since, _ := o.Since(ctx, seqs[3], 100)
	if len(since) != 7 || since[0].Seq != seqs[3] {
		t.Fatalf("since %d: got %d entries from %d, want 7 from %d (acknowledged ones included)", seqs[3], len(since), since[0].Seq, seqs[3])
	}
	n, err := o.Prune(ctx, time.Now().Add(time.Second))
	if err != nil || n != 3 {
		t.Fatalf("prune: got %d, %v, want the 3 acknowledged entries", n, err)
	}
	if old, _ := o.Oldest(ctx); old != seqs[1] {
		t.Fatalf("oldest after prune: got %d, want %d", old, seqs[1])
	}
	if l := o.Level(); l.HeldEntries != 7 || l.Entries != 7 {
		t.Fatalf("level after prune: got %+v, want 7 held, 7 pending", l)
	}
}

func TestSeqSurvivesRestartWhenEmpty(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := open(t, path, Options{})
	var last uint64
	for i := range 5 {
		e, err := o.Append(ctx, rec(i))
		if err != nil {
			t.Fatal(err)
		}
		last = e.Seq
		if err := o.Ack(ctx, e.Seq, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: got %v, want nil", err)
	}
	if _, err := o.Append(ctx, rec(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: got %v, want ErrClosed", err)
	}
	o2 := open(t, path, Options{})
	if o2.LastSeq() != last {
		t.Fatalf("last seq after reopen: got %d, want %d", o2.LastSeq(), last)
	}
	e, err := o2.Append(ctx, rec(6))
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != last+1 {
		t.Fatalf("first seq after restart with an empty outbox: got %d, want %d (never reused)", e.Seq, last+1)
	}
}

func TestLimitRefusesAndHighWaterWarnsEarly(t *testing.T) {
	ctx := context.Background()
	o := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{MaxEntries: 10, HighWater: 0.5})
	var warnedAt int
	for i := range 10 {
		if _, err := o.Append(ctx, rec(i)); err != nil {
			t.Fatalf("append %d of 10: %v", i, err)
		}
		if warnedAt == 0 && o.AboveHighWater() {
			warnedAt = i + 1
		}
	}
	if warnedAt != 5 {
		t.Fatalf("high water first reported after %d entries, want 5 (half of 10)", warnedAt)
	}
	_, err := o.Append(ctx, rec(10))
	if !errors.Is(err, ErrFull) {
		t.Fatalf("append beyond the limit: got %v, want ErrFull", err)
	}
	if !strings.Contains(err.Error(), "holding 10 entries") {
		t.Fatalf("error should say how full: %v", err)
	}
	// The warning about being full still gets in.
	u := rec(11)
	u.Urgent = true
	u.Kind = "fault"
	if _, err := o.Append(ctx, u); err != nil {
		t.Fatalf("urgent append at the limit: got %v, want nil", err)
	}
	p, _ := o.Pending(ctx, 0, 0)
	if len(p) != 11 {
		t.Fatalf("held entries: got %d, want 11 (10 + the urgent fault; the refused one not written)", len(p))
	}
	// Acknowledgements make room again: the oldest acknowledged entries give way.
	if err := o.Ack(ctx, p[0].Seq, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := o.Ack(ctx, p[1].Seq, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Append(ctx, rec(12)); err != nil {
		t.Fatalf("append after draining: %v", err)
	}
	if old, _ := o.Oldest(ctx); old != p[2].Seq {
		t.Fatalf("oldest held after making room: got %d, want %d (the two acknowledged ones pruned)", old, p[2].Seq)
	}
	if l := o.Level(); l.HeldEntries != 10 || l.Entries != 10 {
		t.Fatalf("level: got %+v, want 10 held and pending", l)
	}
}

func TestByteLimit(t *testing.T) {
	ctx := context.Background()
	o := open(t, filepath.Join(t.TempDir(), "outbox.db"), Options{MaxBytes: 100})
	big := rec(0)
	big.Body = []byte(`{"x":"` + strings.Repeat("a", 80) + `"}`)
	if _, err := o.Append(ctx, big); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Append(ctx, big); !errors.Is(err, ErrFull) {
		t.Fatalf("second 88-byte body under a 100-byte limit: got %v, want ErrFull", err)
	}
}

func TestCorruptFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open garbage: got %v, want ErrCorrupt", err)
	}
}

// TestSIGKILLBetweenWriteAndPublish runs a child process (this test binary re-executed) that
// appends entries and reports each seq on stdout only after Append returned — the moment the agent
// would go on to publish. The parent kills it with SIGKILL mid-stream. Every reported seq must be
// held after reopening, and the next seq must be above all of them.
func TestSIGKILLBetweenWriteAndPublish(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), "OUTBOX_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var acked []uint64
		for sc.Scan() {
			line := sc.Text()
			s, ok := strings.CutPrefix(line, "SEQ ")
			if !ok {
				continue
			}
			n, _ := strconv.ParseUint(s, 10, 64)
			acked = append(acked, n)
			if len(acked) == 200+round*37 {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		if len(acked) == 0 {
			t.Fatal("child reported no appends")
		}
		o, err := Open(context.Background(), path, Options{})
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		p, err := o.Pending(context.Background(), 0, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		held := map[uint64]bool{}
		for i, e := range p {
			held[e.Seq] = true
			if i > 0 && e.Seq <= p[i-1].Seq {
				t.Fatalf("pending not in order: %d after %d", e.Seq, p[i-1].Seq)
			}
		}
		for _, s := range acked {
			if !held[s] {
				t.Fatalf("round %d: seq %d was reported written before SIGKILL but is not held after restart", round, s)
			}
		}
		last := acked[len(acked)-1]
		e, err := o.Append(context.Background(), rec(0))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq <= last {
			t.Fatalf("seq after SIGKILL restart: got %d, want above %d", e.Seq, last)
		}
		o.Close()
	}
}

// TestOutboxChild is the child of TestSIGKILLBetweenWriteAndPublish; it does nothing unless
// OUTBOX_CHILD names an outbox file.
func TestOutboxChild(t *testing.T) {
	path := os.Getenv("OUTBOX_CHILD")
	if path == "" {
		return
	}
	o, err := Open(context.Background(), path, Options{})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		e, err := o.Append(context.Background(), rec(i))
		if err != nil {
			fmt.Fprintln(w, "ERR", err)
			w.Flush()
			os.Exit(2)
		}
		// Every other entry is acknowledged, as a publisher would; the rest stay pending.
		if i%2 == 1 {
			if err := o.Ack(context.Background(), e.Seq, time.Now()); err != nil {
				os.Exit(2)
			}
			continue
		}
		fmt.Fprintf(w, "SEQ %d\n", e.Seq)
		w.Flush()
	}
}

// TestDiskFull puts the outbox on a 1 MiB tmpfs and appends until the disk refuses. The refusal
// must be ErrDiskFull, and every entry whose Append returned nil must be readable afterwards.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Unavailable(t, fmt.Sprintf("cannot mount tmpfs here (container without CAP_SYS_ADMIN): %v: %s", err, out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	ctx := context.Background()
	path := filepath.Join(dir, "outbox.db")
	opt := Options{MaxBytes: 1 << 30, MaxEntries: 1 << 30, ReserveBytes: 128 << 10}
	o, err := Open(ctx, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
	var kept int
	var lastErr error
	for i := range 5000 {
		r := rec(i)
		r.Body = body
		if _, err := o.Append(ctx, r); err != nil {
			lastErr = err
			break
		}
		kept++
	}
	if lastErr == nil {
		t.Fatal("5 MB appended to a 1 MiB disk without an error")
	}
	if !errors.Is(lastErr, ErrDiskFull) {
		t.Fatalf("append on a full disk: got %v, want ErrDiskFull", lastErr)
	}
	if l := o.Level(); l.Entries != int64(kept) {
		t.Fatalf("level after refusal: got %d entries, want %d", l.Entries, kept)
	}
	if o.Reserved() {
		t.Fatal("ballast still held after a disk-full error, want it released")
	}
	// The fault saying so still gets in (it uses the released ballast).
	f := rec(5001)
	f.Kind, f.Urgent = "fault", true
	if _, err := o.Append(ctx, f); err != nil {
		t.Fatalf("urgent fault on a full disk: got %v, want nil", err)
	}
	kept++
	if _, err := o.Append(ctx, rec(5002)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("ordinary append after the fault: got %v, want ErrDiskFull", err)
	}
	o.Close()
	o2, err := Open(ctx, path, opt)
	if err != nil {
		t.Fatalf("reopen on the full disk: %v", err)
	}
	defer o2.Close()
	p, err := o2.Pending(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != kept {
		t.Fatalf("entries after the disk filled: got %d, want %d (every acknowledged append)", len(p), kept)
	}
	// Acknowledgements still go through on the full disk, and draining makes room again.
	for _, e := range p {
		if err := o2.Ack(ctx, e.Seq, time.Now()); err != nil {
			t.Fatalf("acknowledge seq %d on a full disk: %v", e.Seq, err)
		}
	}
	// The acknowledged entries kept for resync give way to new observations on the full disk.
	last := o2.LastSeq()
	for i := range 10 {
		r := rec(99999 + i)
		r.Body = body
		e, err := o2.Append(ctx, r)
		if err != nil {
			t.Fatalf("append %d after draining: %v", i, err)
		}
		if e.Seq != last+1+uint64(i) {
			t.Fatalf("seq after the disk-full episode: got %d, want %d (one more, no gap)", e.Seq, last+1+uint64(i))
		}
	}
	if !o2.Reserved() {
		t.Fatal("ballast not restored after the outbox drained")
	}
}

// BenchmarkAppendAck appends one door observation to an agent's outbox and acknowledges it, as
// every published envelope costs (ns/op per envelope).
//
// What limits it: the machine — the disk's fsync latency (every Append is durable before it
// returns; the Ack rides on the next Append's fsync), which is most of ns/op; the code — one
// INSERT and one UPDATE.
func BenchmarkAppendAck(b *testing.B) {
	ctx := context.Background()
	o := open(b, filepath.Join(b.TempDir(), "outbox.db"), Options{})
	r := rec(1)
	r.Body = []byte(`{"cabinet":"c1","state":"closed","badge":"1234"}`)
	b.ResetTimer()
	for b.Loop() {
		e, err := o.Append(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		if err := o.Ack(ctx, e.Seq, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
