package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

func enrollAgent(t *testing.T, s *store.Store, id string) {
	t.Helper()
	if err := s.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO agents(id, key, created_at) VALUES (?, ?, ?)`, id, []byte("k"), store.Now())
		return err
	}); err != nil {
		t.Fatalf("enroll %s: %v", id, err)
	}
}

func obs(agent string, seq uint64) store.Observation {
	return store.Observation{Agent: agent, Seq: seq, ID: fmt.Sprintf("%s-%d", agent, seq), Boot: "b1", V: "1.0",
		At: "2026-11-26T08:00:00Z", Kind: "door", Body: []byte(`{"cabinet":"C1","state":"open"}`), MAC: "00"}
}

func TestObservationsDedupeAndSeqState(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.Target(t))
	enrollAgent(t, s, "a1")

	out, states, err := s.StoreObservations(ctx, []store.Observation{obs("a1", 1), obs("a1", 2), obs("a1", 4)})
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	for i, o := range out {
		if o != store.Stored {
			t.Errorf("outcome %d: got %v, want stored", i, o)
		}
	}
	if len(states) != 1 || states[0] != (store.SeqState{Agent: "a1", Contiguous: 2, MaxSeen: 4, HoleEnd: 3}) {
		t.Fatalf("state: got %+v, want contiguous 2, max 4", states)
	}

	reused := obs("a1", 2)
	reused.ID = "other"
	idAgain := obs("a1", 9)
	idAgain.ID = "a1-1"
	out, states, err = s.StoreObservations(ctx, []store.Observation{obs("a1", 3), obs("a1", 1), reused, idAgain, obs("a1", 3)})
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	want := []store.Outcome{store.Stored, store.Duplicate, store.SeqReused, store.IDReused, store.Duplicate}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("outcome %d: got %v, want %v", i, out[i], want[i])
		}
	}
	if len(states) != 1 || states[0] != (store.SeqState{Agent: "a1", Contiguous: 4, MaxSeen: 4}) {
		t.Fatalf("state after the gap closed: got %+v, want contiguous 4, max 4", states)
	}
	if n, _ := s.ObservationCount(ctx, "a1"); n != 4 {
		t.Errorf("rows: got %d, want 4", n)
	}

	// A gap the agent can no longer fill is closed by its oldest seq.
	if _, _, err := s.StoreObservations(ctx, []store.Observation{obs("a1", 10)}); err != nil {
		t.Fatal(err)
	}
	st, err := s.SkipObservations(ctx, "a1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if st != (store.SeqState{Agent: "a1", Contiguous: 10, MaxSeen: 10}) {
		t.Errorf("after skip: got %+v, want contiguous 10, max 10", st)
	}
	all, err := s.ObservationSeqs(ctx)
	if err != nil || len(all) != 1 || all[0] != st {
		t.Errorf("ObservationSeqs: got %+v %v, want [%+v]", all, err, st)
	}
}

func TestObservationOfUnknownAgentFailsWholeBatch(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.Target(t))
	enrollAgent(t, s, "a1")
	if _, _, err := s.StoreObservations(ctx, []store.Observation{obs("a1", 1), obs("ghost", 1)}); err == nil {
		t.Fatalf("store with an unknown agent: got nil, want a foreign key error")
	}
	if n, _ := s.ObservationCount(ctx, ""); n != 0 {
		t.Errorf("rows after a failed batch: got %d, want 0", n)
	}
}

func TestObservationHoles(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.Target(t))
	enrollAgent(t, s, "a1")
	var batch []store.Observation
	for _, seq := range []uint64{3, 4, 5, 8, 10, 11, 15} {
		batch = append(batch, obs("a1", seq))
	}
	if _, _, err := s.StoreObservations(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, err := s.ObservationHoles(ctx, "a1", 0, 10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Hole{{1, 2}, {6, 7}, {9, 9}, {12, 14}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("holes: got %v, want %v", got, want)
	}
	got, _ = s.ObservationHoles(ctx, "a1", 5, 2, 1000)
	if fmt.Sprint(got) != fmt.Sprint([]store.Hole{{6, 7}, {9, 9}}) {
		t.Errorf("holes after 5, limit 2: got %v, want [{6 7} {9 9}]", got)
	}
}

// RecentObservations selects by the second of receipt: a row received in since's own second is
// in, whatever its fraction (the RFC 3339 text of "…:05.2Z" sorts below "…:05Z", and a 清查 opened
// in the second a cabinet's inventory arrived did not see it), and a row of the second before is
// out.
func TestRecentObservationsIncludeSinceItsOwnSecond(t *testing.T) {
	ctx := context.Background()
	s := open(t, storetest.Target(t))
	enrollAgent(t, s, "a1")
	if _, _, err := s.StoreObservations(ctx, []store.Observation{obs("a1", 1)}); err != nil {
		t.Fatal(err)
	}
	var text string
	if err := s.DB().QueryRowContext(ctx, `SELECT received_at FROM observations WHERE seq = 1`).Scan(&text); err != nil {
		t.Fatal(err)
	}
	received, err := store.ParseTime(text)
	if err != nil {
		t.Fatal(err)
	}
	count := func(since time.Time) int {
		n := 0
		if err := s.RecentObservations(ctx, since, "door", false, func(store.Observation) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A fraction of a second after the receipt, in the same second — the case that was missed.
	same := received.Truncate(time.Second).Add(time.Second - time.Microsecond)
	if received.Nanosecond() == 0 {
		same = received
	}
	if n := count(same); n != 1 {
		t.Errorf("since %s, a row received at %s (same second): got %d rows, want 1", store.FormatTime(same), text, n)
	}
	if n := count(received.Truncate(time.Second).Add(time.Second)); n != 0 {
		t.Errorf("since the next second: got %d rows, want 0", n)
	}
}
