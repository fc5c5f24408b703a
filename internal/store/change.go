package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
)

// Tx is a write transaction that also appends to the audit chain.
type Tx struct {
	*sql.Tx
	ctx     context.Context
	head    chainHead
	alg     string
	pending []audit.Record
}

// Entry is what a change records; the store adds the sequence number, time and hashes.
type Entry struct {
	Actor     string
	Action    string
	Subject   string
	Before    any // marshalled to compact JSON; nil for none
	After     any
	Approvals []string
	Parties   []string
}

// Audit appends one record to the chain inside the transaction.
func (tx *Tx) Audit(e Entry) error {
	rec := audit.Record{
		Seq: tx.head.seq + 1, At: time.Now(), Actor: e.Actor, Action: e.Action, Subject: e.Subject,
		Approvals: e.Approvals, Parties: e.Parties, Alg: tx.alg,
	}
	var err error
	if rec.Before, err = compact(e.Before); err != nil {
		return fmt.Errorf("audit %s: before: %w", e.Action, err)
	}
	if rec.After, err = compact(e.After); err != nil {
		return fmt.Errorf("audit %s: after: %w", e.Action, err)
	}
	rec.Seal(tx.head.hash)
	_, err = tx.ExecContext(tx.ctx, `INSERT INTO audit(seq, at, actor, action, subject, before, after, approvals, parties, prev, hash, alg) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		rec.Seq, FormatTime(rec.At), rec.Actor, rec.Action, rec.Subject, nullRaw(rec.Before), nullRaw(rec.After),
		joinList(rec.Approvals), joinList(rec.Parties), rec.Prev, rec.Hash, rec.Alg)
	if err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	tx.head = chainHead{rec.Seq, rec.Hash, rec.Alg}
	tx.pending = append(tx.pending, rec)
	return nil
}

// Change runs fn in one write transaction whose audit records join the chain. Callers must
// record at least one audit entry: a change to the register without history is a bug, and
// Change refuses to commit it.
func (s *Store) Change(ctx context.Context, fn func(tx *Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.change(ctx, s.alg, fn)
}

// change is Change with s.mu held, sealing with alg; on success alg becomes the store's.
func (s *Store) change(ctx context.Context, alg string, fn func(tx *Tx) error) error {
	var t *Tx
	err := s.Write(ctx, func(sqlTx *sql.Tx) error {
		// The head is read again inside the write transaction: another custodyd instance sharing
		// the database may have appended since this one last did (issue 18).
		head, err := readHead(ctx, sqlTx)
		if err != nil {
			return err
		}
		t = &Tx{Tx: sqlTx, ctx: ctx, head: head, alg: alg}
		if err := fn(t); err != nil {
			return err
		}
		if len(t.pending) == 0 {
			return fmt.Errorf("change without an audit record refused")
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.head, s.alg = t.head, alg
	return nil
}

func (s *Store) loadHead(ctx context.Context) error {
	s.alg = audit.SHA256
	var err error
	if s.head, err = readHead(ctx, s.w); err != nil {
		return err
	}
	if s.head.alg != "" {
		s.alg = s.head.alg
	}
	return nil
}

// UseProfile seals new audit records with the profile's hash (SHA-256 or SM3). When the chain's
// head was sealed with another, it first appends the marked record at which the chain switches
// (audit.ActionProfile, actor "system"), itself sealed with the new hash, so `custodyctl audit
// verify` checks both halves; switched says it did. custodyd calls it at start.
func (s *Store) UseProfile(ctx context.Context, p cryptoprofile.Profile) (switched bool, err error) {
	alg := p.ChainHash()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profile = p
	old := s.alg
	if old == alg || s.head.seq == 0 {
		s.alg = alg
		return false, nil
	}
	oldProfile := cryptoprofile.Standard
	if old == audit.SM3 {
		oldProfile = cryptoprofile.SM
	}
	type side struct {
		Profile string `json:"profile"`
		Hash    string `json:"hash"`
	}
	err = s.change(ctx, alg, func(tx *Tx) error {
		return tx.Audit(Entry{Actor: "system", Action: audit.ActionProfile, Subject: "crypto",
			Before: side{oldProfile.String(), old}, After: side{p.String(), alg}})
	})
	if err != nil {
		return false, fmt.Errorf("switch the audit chain from %s to %s: %w", old, alg, err)
	}
	return true, nil
}

// Profile is the crypto profile UseProfile set (standard before it is called).
func (s *Store) Profile() cryptoprofile.Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cryptoprofile.Profile(s.profile.String())
}

// AuditHead is the sequence number and hash of the last audit record this store read or wrote
// (on a PostgreSQL database shared with other custodyd, theirs may follow it).
func (s *Store) AuditHead() (int64, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head.seq, s.head.hash
}

// AuditRecords calls fn for each record with from ≤ seq, in order.
func (s *Store) AuditRecords(ctx context.Context, from int64, fn func(audit.Record) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at, actor, action, subject, before, after, approvals, parties, prev, hash, alg FROM audit WHERE seq >= ? ORDER BY seq`, from)
	if err != nil {
		return fmt.Errorf("read audit: %w", Classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                  audit.Record
			at                 string
			before, after      sql.NullString
			approvals, parties string
		)
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Subject, &before, &after, &approvals, &parties, &r.Prev, &r.Hash, &r.Alg); err != nil {
			return fmt.Errorf("read audit: %w", err)
		}
		if r.At, err = ParseTime(at); err != nil {
			return fmt.Errorf("audit record %d: time %q: %w", r.Seq, at, err)
		}
		if before.Valid {
			r.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			r.After = json.RawMessage(after.String)
		}
		r.Approvals, r.Parties = splitList(approvals), splitList(parties)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// VerifyAudit recomputes the chain as stored and returns the first break. custodyd runs it at
// start and refuses to serve a register whose history was edited.
func (s *Store) VerifyAudit(ctx context.Context) (audit.Result, error) {
	s.checked.mu.Lock()
	defer s.checked.mu.Unlock()
	return s.verifyAll(ctx)
}

// chainCheck remembers the last verification of this process: the chain up to done.LastSeq held;
// fullAt is when a verification from the first record last ended (zero: none yet). broken is the
// break the last one found, said again without recomputing until the next whole verification is
// due (a broken chain stays broken: custodyd refuses it at its next start).
type chainCheck struct {
	mu       sync.Mutex // one verification at a time: callers arriving meanwhile share its result
	done     audit.Result
	fullAt   time.Time
	broken   error
	brokenAt time.Time
}

// VerifyAuditSince is the chain's state for those who look at it often: the console's pages at
// every load, custodyd's watch every minute. A chain of years is millions of records, more than
// that can recompute each time (about 140 000 a second from SQLite), so it recomputes the records
// appended since this process last verified, and the last auditRecheck records before them again
// — an edit of a recent record is found at once even if its hash was left as it was — and checks
// that the record it ended at still carries the hash it had (an edit further back whose hashes
// were recomputed onwards changes it). The whole chain is verified again once the last full
// verification is older than full: a record edited further back with its hash left as it was is
// found only then. fullAt says when that was.
func (s *Store) VerifyAuditSince(ctx context.Context, full time.Duration) (res audit.Result, fullAt time.Time, err error) {
	c := &s.checked
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil && time.Since(c.brokenAt) < full {
		return c.done, time.Time{}, c.broken
	}
	if c.fullAt.IsZero() || time.Since(c.fullAt) >= full {
		res, err = s.verifyAll(ctx)
		return res, c.fullAt, err
	}
	from := max(1, c.done.LastSeq-auditRecheck+1)
	start := audit.Result{Head: audit.Genesis, Records: c.done.Records - int(c.done.LastSeq-from+1), LastSeq: from - 1}
	var alg string
	if from > 1 {
		err = s.r.QueryRowContext(ctx, `SELECT hash, alg FROM audit WHERE seq = ?`, from-1).Scan(&start.Head, &alg)
		if errors.Is(err, sql.ErrNoRows) {
			err = &audit.Break{Index: start.Records, Seq: from - 1, Kind: "deleted", Detail: "a record verified before is gone", ZH: "此前校验过的记录已不存在"}
		} else if err != nil {
			return c.done, c.fullAt, fmt.Errorf("read audit record %d: %w", from-1, Classify(err))
		}
	}
	if err == nil {
		res, err = s.verifyFrom(ctx, start, alg, c.done)
	}
	if err == nil && res.LastSeq < c.done.LastSeq {
		err = &audit.Break{Index: res.Records, Seq: res.LastSeq, Kind: "deleted", Detail: fmt.Sprintf("records %d to %d, verified before, are gone", res.LastSeq+1, c.done.LastSeq),
			ZH: fmt.Sprintf("此前校验过的第 %d 至 %d 条记录已不存在", res.LastSeq+1, c.done.LastSeq)}
	}
	if err != nil {
		c.failed(err)
		return res, c.fullAt, err
	}
	c.done = res
	return res, c.fullAt, nil
}

// failed remembers a break: the chain is verified from its first record at the next look that
// recomputes. Any other error (the register unreadable, the caller gone) changes nothing.
func (c *chainCheck) failed(err error) {
	if errors.As(err, new(*audit.Break)) {
		c.done, c.fullAt, c.broken, c.brokenAt = audit.Result{}, time.Time{}, err, time.Now()
	}
}

// auditRecheck is how many records verified before VerifyAuditSince recomputes again at each look.
var auditRecheck int64 = 1000

// verifyAll verifies the chain from its first record and remembers the outcome; c.mu is held.
func (s *Store) verifyAll(ctx context.Context) (audit.Result, error) {
	c := &s.checked
	res, err := s.verifyFrom(ctx, audit.Result{Head: audit.Genesis}, "", audit.Result{})
	if err != nil {
		c.failed(err)
		return res, err
	}
	c.done, c.fullAt, c.broken = res, time.Now(), nil
	return res, nil
}

// verifyFrom recomputes the records after those res covers, the last of them hashed with alg (as
// stored), and returns the chain's state after them. The record at pin.LastSeq, if any, must
// still end the chain as pin did (its hash pin.Head).
func (s *Store) verifyFrom(ctx context.Context, res audit.Result, alg string, pin audit.Result) (audit.Result, error) {
	err := s.AuditRecords(ctx, res.LastSeq+1, func(r audit.Record) error {
		want := r.Hash
		r.Seal(res.Head)
		if r.Seq == pin.LastSeq && r.Seq != 0 && want != pin.Head {
			return &audit.Break{Index: res.Records + 1, Seq: r.Seq, Kind: "altered", Detail: "the record verified last has another hash now", ZH: "上次校验到的记录的哈希已被改写"}
		}
		if r.Seq != res.LastSeq+1 || r.Hash != want {
			return &audit.Break{Index: res.Records + 1, Seq: r.Seq, Kind: "altered", Detail: "the stored record does not match the chain", ZH: "与审计链不符：记录内容或其哈希被改动"}
		}
		if res.Records > 0 && !audit.SwitchAllowed(alg, r.Alg, r.Action) {
			return &audit.Break{Index: res.Records + 1, Seq: r.Seq, Kind: "altered", Detail: fmt.Sprintf("its hash algorithm changes from %s to %s without a profile-switch record", alg, r.Alg), ZH: fmt.Sprintf("哈希算法由 %s 变为 %s，但该记录不是密码配置切换记录", alg, r.Alg)}
		}
		alg = r.Alg
		res.Records++
		res.LastSeq = r.Seq
		res.Head = want
		return nil
	})
	return res, err
}

func compact(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(strings.TrimSuffix(b.String(), "\n")), nil
}

func nullRaw(b json.RawMessage) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// Lists are kept as newline-separated text; approval ids and usernames hold no newlines.
func joinList(l []string) string { return strings.Join(l, "\n") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// readHead reads the chain's last record (the genesis for an empty chain).
func readHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (chainHead, error) {
	var h chainHead
	err := q.QueryRowContext(ctx, `SELECT seq, hash, alg FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&h.seq, &h.hash, &h.alg)
	if err == sql.ErrNoRows {
		return chainHead{0, audit.Genesis, ""}, nil
	}
	if err != nil {
		return h, fmt.Errorf("read audit head: %w", Classify(err))
	}
	return h, nil
}
