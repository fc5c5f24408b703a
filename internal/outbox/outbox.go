// Package outbox is custody-agent's durable queue of observations, kept in its own SQLite file.
//
// Contract: Append writes one observation and gives it the next sequence number in the same
// transaction; when Append returns nil the entry is on disk (WAL, synchronous=FULL) and survives
// SIGKILL and power loss. Sequence numbers increase by one for the life of the file and are never
// reused, not even after every entry was pruned and the agent restarted (SQLite AUTOINCREMENT
// keeps the high mark in sqlite_sequence; a refused Append consumes no number). Pending lists the
// entries the broker has not acknowledged, in sequence order; Ack marks one acknowledged. An
// acknowledged entry is kept (firmware-protocol/mqtt.md §8: at least 7 days) so that a resync
// from custodyd can be answered (Since); Prune deletes acknowledged entries older than the
// retention, and when the size limit is reached the oldest acknowledged entries make room first.
// Unacknowledged entries are never deleted: when they alone fill the limit Append refuses with
// ErrFull, and when the disk itself is full it refuses with ErrDiskFull; the caller logs and
// reports both. Level and AboveHighWater (over unacknowledged entries) let the agent raise a fault
// long before the limit is reached. Urgent entries (the fault saying the outbox is filling up)
// may use a small headroom above the limit so the warning itself is never the thing refused. A
// ballast file beside the outbox (Options.ReserveBytes) is given back at the first disk-full error
// so that acknowledgements can still be written (WAL mode needs room even to delete) and the
// urgent fault gets in; ordinary entries are refused with ErrDiskFull until the ballast can be
// written again.
//
// One Outbox per file; it is safe for concurrent use. Close is idempotent.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Errors a caller is expected to handle.
var (
	// ErrFull: the outbox holds as much as it is allowed to; the entry was not written.
	ErrFull = errors.New("outbox full: observations are not being acknowledged by the broker; nothing was dropped, new observations are refused until the backlog drains")
	// ErrDiskFull: the file system holding the outbox is full; the entry was not written.
	ErrDiskFull = errors.New("disk holding the outbox is full; the observation was not written")
	// ErrClosed: the outbox was closed.
	ErrClosed = errors.New("outbox closed")
	// ErrCorrupt: the file is not a readable outbox.
	ErrCorrupt = errors.New("outbox file is corrupt")
)

// Defaults for Options.
const (
	DefaultMaxBytes     = 64 << 20
	DefaultMaxEntries   = 200_000
	DefaultHighWater    = 0.5
	DefaultReserveBytes = 1 << 20
	// headroom above the limits that only urgent entries may use.
	urgentEntries = 64
	urgentBytes   = 64 << 10
)

// Options bound the outbox. Zero values take the defaults.
type Options struct {
	MaxBytes   int64   // total body bytes held
	MaxEntries int64   // entries held
	HighWater  float64 // fraction of either limit above which AboveHighWater reports true
	// ReserveBytes is the size of a ballast file kept beside the outbox. When the disk fills up,
	// SQLite cannot even delete (WAL mode appends to the log), so the outbox could never drain;
	// the ballast is given back to the file system at the first disk-full error, which lets
	// acknowledgements and the urgent fault through. Negative disables it.
	ReserveBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.HighWater <= 0 || o.HighWater >= 1 {
		o.HighWater = DefaultHighWater
	}
	if o.ReserveBytes == 0 {
		o.ReserveBytes = DefaultReserveBytes
	}
	return o
}

// Record is what the agent asks to be kept.
type Record struct {
	ID     string    // message id, unique per observation (kept across resends)
	Boot   string    // boot id of the agent process that made the observation
	Kind   string    // observation kind (wire.Kind*)
	At     time.Time // when the observation was made
	Body   []byte    // JSON body
	Urgent bool      // may use the small headroom above the limit (high-water faults)
}

// Entry is a kept record with its sequence number.
type Entry struct {
	Seq  uint64
	ID   string
	Boot string
	Kind string
	At   time.Time
	Body []byte
}

// Level is how full the outbox is. Entries and Bytes count what is not yet acknowledged (what is
// at risk); Held counts everything in the file, acknowledged entries kept for resync included.
type Level struct {
	Entries     int64
	Bytes       int64
	HeldEntries int64
	HeldBytes   int64
	MaxEntries  int64
	MaxBytes    int64
}

// Fraction is the larger of the two fill ratios of unacknowledged entries, 0–1 (slightly above 1
// when urgent headroom is used).
func (l Level) Fraction() float64 {
	a := float64(l.Entries) / float64(l.MaxEntries)
	b := float64(l.Bytes) / float64(l.MaxBytes)
	return max(a, b)
}

// Outbox is the durable queue.
type Outbox struct {
	path string
	opt  Options
	db   *sql.DB

	mu       sync.Mutex
	closed   bool
	reserved bool  // the ballast file is in place
	entries  int64 // unacknowledged
	bytes    int64
	held     int64 // all entries in the file
	heldB    int64
	lastSeq  uint64
}

// auto_vacuum must come before the first table: it lets pruned pages go back to the file system,
// which a full disk needs (see reclaim).
const schema = `
PRAGMA auto_vacuum = INCREMENTAL;
CREATE TABLE IF NOT EXISTS entries (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	id   TEXT    NOT NULL,
	boot TEXT    NOT NULL,
	kind TEXT    NOT NULL,
	at   INTEGER NOT NULL, -- unix nanoseconds
	body BLOB    NOT NULL,
	acked INTEGER NOT NULL DEFAULT 0 -- unix nanoseconds of the broker's acknowledgement; 0 = pending
);
CREATE INDEX IF NOT EXISTS entries_pending ON entries (acked, seq);`

// Open opens or creates the outbox file at path and checks its integrity.
func Open(ctx context.Context, path string, opt Options) (*Outbox, error) {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_busy_timeout", "5000")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("outbox %s: open: %w", path, err)
	}
	// One connection: one writer, and the in-memory counters stay exact.
	db.SetMaxOpenConns(1)
	o := &Outbox{path: path, opt: opt.withDefaults(), db: db}
	if err := o.init(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	o.reserved = o.reserve()
	return o, nil
}

func (o *Outbox) reservePath() string { return o.path + ".reserve" }

// reserve makes sure the ballast file exists at its full size. It reports false when it could not
// (the disk is already full, or the reserve is disabled); the outbox works without it.
func (o *Outbox) reserve() bool {
	if o.opt.ReserveBytes < 0 {
		return false
	}
	if fi, err := os.Stat(o.reservePath()); err == nil && fi.Size() >= o.opt.ReserveBytes {
		return true
	}
	f, err := os.OpenFile(o.reservePath(), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return false
	}
	// Written, not truncated: a sparse file would give nothing back.
	_, err = f.Write(make([]byte, o.opt.ReserveBytes))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(o.reservePath())
		return false
	}
	return true
}

// release gives the ballast back to the file system; it reports whether there was any.
func (o *Outbox) release() bool {
	if !o.reserved {
		return false
	}
	o.reserved = false
	return os.Remove(o.reservePath()) == nil
}

// Reserved reports whether the disk-full ballast is in place. It is false after a disk-full error
// until the disk has room for the ballast again; meanwhile only urgent entries are accepted.
func (o *Outbox) Reserved() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.reserved
}

func (o *Outbox) init(ctx context.Context) error {
	var check string
	if err := o.db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&check); err != nil {
		return classify(err)
	}
	if check != "ok" {
		return fmt.Errorf("%w: quick_check: %s", ErrCorrupt, check)
	}
	if _, err := o.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("create schema: %w", classify(err))
	}
	err := o.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(length(body)),0),
		coalesce(sum(acked = 0),0), coalesce(sum(CASE WHEN acked = 0 THEN length(body) ELSE 0 END),0) FROM entries`).
		Scan(&o.held, &o.heldB, &o.entries, &o.bytes)
	if err != nil {
		return fmt.Errorf("count entries: %w", classify(err))
	}
	// The high mark survives even when the table is empty.
	var seq sql.NullInt64
	err = o.db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'entries'`).Scan(&seq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read sequence: %w", classify(err))
	}
	o.lastSeq = uint64(seq.Int64)
	return nil
}

// Path is the file the outbox lives in.
func (o *Outbox) Path() string { return o.path }

// Append keeps r and returns it with its sequence number. It returns ErrFull or ErrDiskFull
// (wrapped, with the current level) when it cannot keep it; the record is then not written at all.
func (o *Outbox) Append(ctx context.Context, r Record) (Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return Entry{}, ErrClosed
	}
	n := int64(len(r.Body))
	maxE, maxB := o.opt.MaxEntries, o.opt.MaxBytes
	if r.Urgent {
		maxE += urgentEntries
		maxB += urgentBytes
	}
	if o.opt.ReserveBytes > 0 && !o.reserved && !r.Urgent {
		// The ballast is gone: what space there is belongs to acknowledgements until the disk
		// has room for the ballast again. Acknowledged entries kept for resync give way first
		// (mqtt.md §8 lets storage force that; Oldest then tells custodyd).
		if o.reserved = o.reserve(); !o.reserved && o.held > o.entries {
			o.reclaim(ctx)
			o.reserved = o.reserve()
		}
		if !o.reserved {
			return Entry{}, fmt.Errorf("outbox %s: %s observation: %w (the %d-byte reserve could not be restored; free space on the disk or let the backlog drain)",
				o.path, r.Kind, ErrDiskFull, o.opt.ReserveBytes)
		}
	}
	if o.held+1 > maxE || o.heldB+n > maxB {
		// Acknowledged entries kept for resync make room first, oldest first.
		if err := o.makeRoom(ctx, o.held+1-maxE, o.heldB+n-maxB); err != nil {
			return Entry{}, fmt.Errorf("outbox %s: make room for a %s observation: %w", o.path, r.Kind, err)
		}
	}
	if o.held+1 > maxE || o.heldB+n > maxB {
		return Entry{}, fmt.Errorf("outbox %s: %s observation of %d bytes: %w (holding %d entries, %d bytes; limits %d entries, %d bytes)",
			o.path, r.Kind, n, ErrFull, o.entries, o.bytes, o.opt.MaxEntries, o.opt.MaxBytes)
	}
	at := r.At.UTC()
	insert := func() (seq int64, err error) {
		err = o.db.QueryRowContext(ctx, `INSERT INTO entries (id, boot, kind, at, body) VALUES (?, ?, ?, ?, ?) RETURNING seq`,
			r.ID, r.Boot, r.Kind, at.UnixNano(), r.Body).Scan(&seq)
		return seq, classify(err)
	}
	seq, err := insert()
	if errors.Is(err, ErrDiskFull) && o.release() && r.Urgent {
		// The ballast is now free space: the warning about the full disk goes in, ordinary
		// observations stay refused so the space is kept for acknowledgements.
		seq, err = insert()
	}
	if err != nil {
		return Entry{}, fmt.Errorf("outbox %s: append %s observation: %w", o.path, r.Kind, err)
	}
	if uint64(seq) <= o.lastSeq {
		// AUTOINCREMENT forbids this; if it ever happens the file was tampered with.
		return Entry{}, fmt.Errorf("outbox %s: sequence went back from %d to %d: %w", o.path, o.lastSeq, seq, ErrCorrupt)
	}
	o.lastSeq = uint64(seq)
	o.entries++
	o.bytes += n
	o.held++
	o.heldB += n
	return Entry{Seq: uint64(seq), ID: r.ID, Boot: r.Boot, Kind: r.Kind, At: at, Body: r.Body}, nil
}

// Pending returns up to limit unacknowledged entries with a sequence number above after, oldest
// first.
func (o *Outbox) Pending(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	return o.list(ctx, `SELECT seq, id, boot, kind, at, body FROM entries WHERE acked = 0 AND seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

// Since returns up to limit entries still held — acknowledged or not — with a sequence number of
// at least from, oldest first: what a resync re-sends.
func (o *Outbox) Since(ctx context.Context, from uint64, limit int) ([]Entry, error) {
	return o.list(ctx, `SELECT seq, id, boot, kind, at, body FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?`, from, limit)
}

func (o *Outbox) list(ctx context.Context, query string, seq uint64, limit int) ([]Entry, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	rows, err := o.db.QueryContext(ctx, query, int64(seq), limit)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: list entries: %w", o.path, classify(err))
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var seq, at int64
		if err := rows.Scan(&seq, &e.ID, &e.Boot, &e.Kind, &at, &e.Body); err != nil {
			return nil, fmt.Errorf("outbox %s: read entry: %w", o.path, classify(err))
		}
		e.Seq = uint64(seq)
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("outbox %s: list entries: %w", o.path, classify(err))
	}
	return out, nil
}

// Oldest is the lowest sequence number still held (acknowledged or not), or 0 when the outbox is
// empty.
func (o *Outbox) Oldest(ctx context.Context) (uint64, error) {
	if err := o.check(); err != nil {
		return 0, err
	}
	var seq sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT min(seq) FROM entries`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("outbox %s: oldest: %w", o.path, classify(err))
	}
	return uint64(seq.Int64), nil
}

// LastSeq is the highest sequence number ever given, 0 for a new file.
func (o *Outbox) LastSeq() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastSeq
}

// Ack marks the entry with sequence number seq acknowledged by the broker; it is kept for
// resync until pruned. Acknowledging an entry twice, or one already pruned, is not an error (an
// acknowledgement may arrive twice).
func (o *Outbox) Ack(ctx context.Context, seq uint64, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	var n int64
	ack := func() error {
		// A lost acknowledgement costs only a duplicate resend (custodyd drops it by seq), so it
		// is not worth an fsync: it reaches the disk with the next Append's. The pragma is
		// per connection, and there is one connection, used under mu for every write.
		if _, err := o.db.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			return classify(err)
		}
		defer o.db.ExecContext(context.WithoutCancel(ctx), `PRAGMA synchronous = FULL`)
		return classify(o.db.QueryRowContext(ctx, `UPDATE entries SET acked = ? WHERE seq = ? AND acked = 0 RETURNING length(body)`,
			max(at.UnixNano(), 1), int64(seq)).Scan(&n))
	}
	err := ack()
	if errors.Is(err, ErrDiskFull) && o.release() {
		err = ack()
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("outbox %s: acknowledge seq %d: %w", o.path, seq, err)
	}
	o.entries--
	o.bytes -= n
	o.afterDelete(ctx)
	return nil
}

// Prune deletes acknowledged entries acknowledged before before; it returns how many.
func (o *Outbox) Prune(ctx context.Context, before time.Time) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, ErrClosed
	}
	rows, err := o.db.QueryContext(ctx, `DELETE FROM entries WHERE acked > 0 AND acked < ? RETURNING length(body)`, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("outbox %s: prune: %w", o.path, classify(err))
	}
	k, err := o.countDeleted(rows)
	if err != nil {
		return k, fmt.Errorf("outbox %s: prune: %w", o.path, err)
	}
	o.afterDelete(ctx)
	return k, nil
}

// makeRoom deletes the oldest acknowledged entries until at least entries entries and bytes
// bytes are freed, or none is left. Called with mu held.
func (o *Outbox) makeRoom(ctx context.Context, entries, bytes int64) error {
	for entries > 0 || bytes > 0 {
		rows, err := o.db.QueryContext(ctx, `DELETE FROM entries WHERE seq IN (SELECT seq FROM entries WHERE acked > 0 ORDER BY seq LIMIT 64) RETURNING length(body)`)
		if err != nil {
			return classify(err)
		}
		e0, b0 := o.held, o.heldB
		k, err := o.countDeleted(rows)
		if err != nil {
			return err
		}
		if k == 0 {
			return nil
		}
		entries -= e0 - o.held
		bytes -= b0 - o.heldB
	}
	return nil
}

func (o *Outbox) countDeleted(rows *sql.Rows) (int, error) {
	defer rows.Close()
	k := 0
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return k, classify(err)
		}
		o.held--
		o.heldB -= n
		k++
	}
	return k, classify(rows.Err())
}

// reclaim deletes every acknowledged entry and gives the pages back to the file system. Called
// with mu held, on a full disk only.
func (o *Outbox) reclaim(ctx context.Context) {
	if err := o.makeRoom(ctx, o.held-o.entries, 0); err != nil {
		return
	}
	o.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	o.db.ExecContext(ctx, `PRAGMA incremental_vacuum`)
	o.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
}

// afterDelete checkpoints and restores the ballast once nothing is pending. Called with mu held.
func (o *Outbox) afterDelete(ctx context.Context) {
	if o.entries == 0 && !o.reserved && o.opt.ReserveBytes > 0 {
		o.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		o.reserved = o.reserve()
	}
}

// Level reports how full the outbox is.
func (o *Outbox) Level() Level {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Level{Entries: o.entries, Bytes: o.bytes, HeldEntries: o.held, HeldBytes: o.heldB, MaxEntries: o.opt.MaxEntries, MaxBytes: o.opt.MaxBytes}
}

// AboveHighWater reports whether the outbox is fuller than the high-water mark.
func (o *Outbox) AboveHighWater() bool {
	return o.Level().Fraction() >= o.opt.HighWater
}

// HighWater is the configured high-water fraction.
func (o *Outbox) HighWater() float64 { return o.opt.HighWater }

func (o *Outbox) check() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	return nil
}

// Close closes the file. Idempotent.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	if err := o.db.Close(); err != nil {
		return fmt.Errorf("outbox %s: close: %w", o.path, err)
	}
	return nil
}

// classify turns SQLite's codes into this package's sentinels where one applies.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code {
	case sqlite3.ErrFull:
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	case sqlite3.ErrIoErr:
		// A write that hits ENOSPC on some file systems surfaces as an I/O error.
		if se.ExtendedCode == sqlite3.ErrIoErrWrite || se.ExtendedCode == sqlite3.ErrIoErrFsync || se.ExtendedCode == sqlite3.ErrIoErrTruncate || se.ExtendedCode == sqlite3.ErrIoErrSHMSize {
			return fmt.Errorf("%w (or failing): %v", ErrDiskFull, err)
		}
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return err
}
