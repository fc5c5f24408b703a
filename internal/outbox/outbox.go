// Package outbox is custody-agent's durable queue of observations, kept in its own SQLite file.
//
// Contract: Append writes one observation and gives it the next sequence number in the same
// transaction; when Append returns nil the entry is on disk (WAL, synchronous=FULL) and survives
// SIGKILL and power loss. Sequence numbers strictly increase for the life of the file: they are
// never reused, not even after every entry was removed and the agent restarted (SQLite
// AUTOINCREMENT keeps the high mark in sqlite_sequence). Pending lists entries in sequence order;
// Remove deletes an entry once the broker has acknowledged it. Nothing is dropped: when the
// configured size limit is reached Append refuses with ErrFull, and when the disk itself is full it
// refuses with ErrDiskFull; the caller logs and reports both. Level and AboveHighWater let the
// agent raise a fault long before the limit is reached. Urgent entries (the fault saying the
// outbox is filling up) may use a small headroom above the limit so the warning itself is never
// the thing refused. A ballast file beside the outbox (Options.ReserveBytes) is given back at the
// first disk-full error so that acknowledgements can still delete entries (WAL mode needs room
// even to delete) and the urgent fault gets in; ordinary entries are refused with ErrDiskFull
// until the ballast can be written again.
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

// Level is how full the outbox is.
type Level struct {
	Entries    int64
	Bytes      int64
	MaxEntries int64
	MaxBytes   int64
}

// Fraction is the larger of the two fill ratios, 0–1 (slightly above 1 when urgent headroom is used).
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
	reserved bool // the ballast file is in place
	entries  int64
	bytes    int64
	lastSeq  uint64
}

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	id   TEXT    NOT NULL,
	boot TEXT    NOT NULL,
	kind TEXT    NOT NULL,
	at   INTEGER NOT NULL, -- unix nanoseconds
	body BLOB    NOT NULL
);`

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
	err := o.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(length(body)),0) FROM entries`).Scan(&o.entries, &o.bytes)
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
		// has room for the ballast again.
		if o.reserved = o.reserve(); !o.reserved {
			return Entry{}, fmt.Errorf("outbox %s: %s observation: %w (the %d-byte reserve could not be restored; free space on the disk or let the backlog drain)",
				o.path, r.Kind, ErrDiskFull, o.opt.ReserveBytes)
		}
	}
	if o.entries+1 > maxE || o.bytes+n > maxB {
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
	return Entry{Seq: uint64(seq), ID: r.ID, Boot: r.Boot, Kind: r.Kind, At: at, Body: r.Body}, nil
}

// Pending returns up to limit entries with a sequence number above after, oldest first.
func (o *Outbox) Pending(ctx context.Context, after uint64, limit int) ([]Entry, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	rows, err := o.db.QueryContext(ctx, `SELECT seq, id, boot, kind, at, body FROM entries WHERE seq > ? ORDER BY seq LIMIT ?`, int64(after), limit)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: list pending: %w", o.path, classify(err))
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
		return nil, fmt.Errorf("outbox %s: list pending: %w", o.path, classify(err))
	}
	return out, nil
}

// Oldest is the lowest sequence number still held, or 0 when the outbox is empty.
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

// Remove deletes the entry with sequence number seq, once the broker acknowledged it. Removing an
// entry that is already gone is not an error (an acknowledgement may arrive twice).
func (o *Outbox) Remove(ctx context.Context, seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	var n int64
	remove := func() error {
		return classify(o.db.QueryRowContext(ctx, `DELETE FROM entries WHERE seq = ? RETURNING length(body)`, int64(seq)).Scan(&n))
	}
	err := remove()
	if errors.Is(err, ErrDiskFull) && o.release() {
		err = remove()
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("outbox %s: remove seq %d: %w", o.path, seq, err)
	}
	o.entries--
	o.bytes -= n
	if o.entries == 0 && !o.reserved && o.opt.ReserveBytes > 0 {
		// Drained: checkpoint so the log gives its pages back, then put the ballast back.
		o.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		o.reserved = o.reserve()
	}
	return nil
}

// Level reports how full the outbox is.
func (o *Outbox) Level() Level {
	o.mu.Lock()
	defer o.mu.Unlock()
	return Level{Entries: o.entries, Bytes: o.bytes, MaxEntries: o.opt.MaxEntries, MaxBytes: o.opt.MaxBytes}
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
