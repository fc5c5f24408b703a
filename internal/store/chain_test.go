package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// appenderEnv makes the test binary a second custodyd for TestTwoProcessesAppendToOneChain: it
// names the register to append to, the writer's name and how many changes to make.
const appenderEnv = "CUSTODY_STORE_TEST_APPENDER"

// Not a test of its own: the body of each appending process (see appenderEnv).
func TestAppenderProcess(t *testing.T) {
	spec := os.Getenv(appenderEnv)
	if spec == "" {
		t.Skip("runs only as a child of TestTwoProcessesAppendToOneChain")
	}
	target, rest, _ := strings.Cut(spec, "|")
	who, n, _ := strings.Cut(rest, "|")
	count, err := strconv.Atoi(n)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), target, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Ready, then wait for the parent's go, so both processes append at once.
	if err := os.WriteFile(os.Getenv(appenderEnv+"_READY"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv(appenderEnv + "_GO")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no go from the parent test")
		}
	}
	for i := range count {
		// One to three records a transaction, as register changes make.
		err := st.Change(context.Background(), func(tx *store.Tx) error {
			for j := range 1 + i%3 {
				if err := tx.Audit(store.Entry{Actor: who, Action: "test.append", Subject: fmt.Sprintf("%s:%d.%d", who, i, j)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s change %d: %v", who, i, err)
		}
	}
}

// Two custodyd processes append to one register at the same time (issue 18): the chain they
// leave holds every record of both, in one order, and verifies — the write lock serialises them
// and each reads the head inside its own transaction.
func TestTwoProcessesAppendToOneChain(t *testing.T) {
	target := storetest.Target(t)
	st := open(t, target) // migrated before the children start
	addUnit(t, st, "A")
	const perProcess = 60
	var wg sync.WaitGroup
	outs := make([][]byte, 2)
	errs := make([]error, 2)
	dir := t.TempDir()
	goFile := filepath.Join(dir, "go")
	var ready []string
	for i, who := range []string{"east", "west"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAppenderProcess$", "-test.count=1")
		ready = append(ready, filepath.Join(dir, "ready-"+who))
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", appenderEnv, target, who, perProcess),
			appenderEnv+"_READY="+ready[i], appenderEnv+"_GO="+goFile)
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	// Go once both have opened the register (or one has already failed).
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		_, e1 := os.Stat(ready[0])
		_, e2 := os.Stat(ready[1])
		if e1 == nil && e2 == nil {
			break
		}
	}
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range errs {
		if errs[i] != nil {
			t.Fatalf("appender %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	res, err := st.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("the chain two processes wrote does not verify: %v", err)
	}
	perWriter := 0
	for i := range perProcess {
		perWriter += 1 + i%3
	}
	if want := 1 + 2*perWriter; res.Records != want {
		t.Errorf("chain holds %d records, want %d (1 + %d from each process)", res.Records, want, perWriter)
	}
	// Interleaved, not one after the other: the test would prove nothing if they never overlapped.
	switches, last := 0, ""
	st.AuditRecords(context.Background(), 2, func(r audit.Record) error {
		if last != "" && r.Actor != last {
			switches++
		}
		last = r.Actor
		return nil
	})
	t.Logf("the writers took turns %d times", switches)
	// And this store, which wrote before them, appends after their records, not at its old head.
	addUnit(t, st, "B")
	if res, err := st.VerifyAudit(context.Background()); err != nil || res.Records != 2+2*perWriter {
		t.Errorf("after the processes: %+v %v", res, err)
	}
}

// A torn or reordered append is impossible on PostgreSQL even for a writer that skipped the
// write lock: two transactions that read the same head cannot both attach to it (the second is
// refused at its commit point), and a record that skips a seq or names another prev is refused
// by the database. The chain stays whole.
func TestTornOrReorderedAppendIsRefused(t *testing.T) {
	if !storetest.Postgres() {
		t.Skip("on SQLite one writer at a time is the file's own rule; CUSTODY_TEST_STORE=postgres runs it")
	}
	ctx := context.Background()
	st := open(t, storetest.Target(t))
	addUnit(t, st, "A")
	head, hash := st.AuditHead()
	rec := func(seq int64, prev string) audit.Record {
		r := audit.Record{Seq: seq, At: time.Now(), Actor: "mallory", Action: "test.append", Subject: "x", Alg: audit.SHA256}
		r.Seal(prev)
		return r
	}
	insert := func(tx *sql.Tx, r audit.Record) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit(seq, at, actor, action, subject, approvals, parties, prev, hash, alg) VALUES (?,?,?,?,?,'','',?,?,?)`,
			r.Seq, store.FormatTime(r.At), r.Actor, r.Action, r.Subject, r.Prev, r.Hash, r.Alg)
		return err
	}

	// Two writers both read the head and both append to it.
	tx1, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	tx2, err := st.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx2.Rollback()
	if err := insert(tx1, rec(head+1, hash)); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	second := make(chan error, 1)
	go func() { second <- insert(tx2, rec(head+1, hash)) }() // waits on the first's seq
	if err := tx1.Commit(); err != nil {
		t.Fatalf("first writer's commit: %v", err)
	}
	// Whether its insert ran before the first committed (then it waits on the seq's uniqueness)
	// or after (then the head has moved), it is refused.
	if err := <-second; err == nil {
		t.Error("a second record attached to the same head was accepted")
	} else if !refused(err) {
		t.Errorf("second writer: got %v, want a refusal", err)
	}
	tx2.Rollback()

	head, hash = head+1, ""
	st.AuditRecords(ctx, head, func(r audit.Record) error { hash = r.Hash; return nil })
	for name, r := range map[string]audit.Record{
		"a skipped seq":  rec(head+2, hash),
		"another prev":   rec(head+1, audit.Genesis),
		"an earlier seq": rec(head, hash),
	} {
		err := st.Write(ctx, func(tx *sql.Tx) error { return insert(tx, r) })
		if !refused(err) {
			t.Errorf("%s: got %v, want a refusal", name, err)
		}
	}
	if res, err := st.VerifyAudit(ctx); err != nil || res.Records != 2 {
		t.Errorf("after the attempts the chain is %+v, %v; want 2 records that verify", res, err)
	}
}

func refused(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "torn or reordered") || strings.Contains(err.Error(), "duplicate key"))
}
