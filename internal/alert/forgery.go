package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
)

// Forgery is an observation ingest refused because its agent spoke for a cabinet, desk or reader
// the register does not bind to it (DESIGN.md §5 rule 12). Nothing of it was stored.
type Forgery struct {
	Agent     string    // who signed it
	Kind      string    // observation kind (inventory, door, scan, presence, fault)
	PlaceKind string    // "cabinet", "desk"
	Place     string    // the code it spoke for
	Owner     string    // the agent the register binds the place to ("" for none, or not registered)
	Seq       uint64    //
	ID        string    // envelope id
	At        time.Time // when custodyd refused it
	Refused   int       // how many were refused for this agent and place since the last record
}

// RecordForgery writes one refusal into the audit log (observation.refuse) and raises — or keeps
// open — the agent's not_bound finding and its critical alert, in one transaction. The alert is
// about the forger (subject agent/{id}); only a person resolves it.
func (b *Book) RecordForgery(ctx context.Context, f Forgery) error {
	now := b.now().UTC()
	ts := store.FormatTime(now)
	fd := reconcile.Finding{Kind: reconcile.NotBound, Subject: "agent/" + f.Agent, Confidence: reconcile.Confirmed, Agent: f.Agent, At: f.At,
		Text: custody.Text{
			ZH: fmt.Sprintf("采集代理 %s 上报了不属于它的%s %s 的观测（%s），已拒收", f.Agent, placeZH(f.PlaceKind), f.Place, f.Kind),
			EN: fmt.Sprintf("agent %s reported a %s observation for %s %s, which is not bound to it; refused", f.Agent, f.Kind, f.PlaceKind, f.Place)},
		Evidence: reconcile.Evidence{Reason: "not_bound", Since: f.At, Cabinets: []string{f.PlaceKind + "/" + f.Place}}}
	err := b.st.Change(ctx, func(tx *store.Tx) error {
		if err := tx.Audit(store.Entry{Actor: System, Action: "observation.refuse", Subject: "agent:" + f.Agent,
			After: map[string]any{"reason": "not_bound", "kind": f.Kind, "place": f.PlaceKind + ":" + f.Place, "bound_to": f.Owner, "seq": f.Seq, "id": f.ID, "refused": f.Refused}}); err != nil {
			return err
		}
		if _, err := b.upsertFinding(ctx, tx, fd, ts); err != nil {
			return err
		}
		_, err := b.syncAlert(ctx, tx, reconcile.Key{Kind: reconcile.NotBound, Subject: groupOf(fd)}, ts)
		return err
	})
	if err != nil {
		return fmt.Errorf("record the refused observation of agent %s for %s %s: %w", f.Agent, f.PlaceKind, f.Place, err)
	}
	b.changed()
	return nil
}

func placeZH(kind string) string {
	switch kind {
	case "cabinet":
		return "密码柜"
	case "desk":
		return "工作台"
	case "command":
		return "命令"
	}
	return "设备"
}

// forgeryBook coalesces refusals: the first of an (agent, place) is recorded at once, later ones
// within forgeryWindow only counted and recorded with the next record, so a flood of forged
// messages is one alert and a bounded number of audit records, not a flood of writes.
type forgeryBook struct {
	mu    sync.Mutex
	last  map[string]time.Time
	count map[string]int
}

const forgeryWindow = time.Minute

// admit reports whether f is to be recorded now and how many were held back before it.
func (fb *forgeryBook) admit(f Forgery, now time.Time) (bool, int) {
	k := f.Agent + "\x00" + f.PlaceKind + "\x00" + f.Place
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.last == nil || len(fb.last) > 10_000 { // bound memory under made-up place codes
		fb.last, fb.count = map[string]time.Time{}, map[string]int{}
	}
	fb.count[k]++
	if t, ok := fb.last[k]; ok && now.Sub(t) < forgeryWindow {
		return false, 0
	}
	n := fb.count[k]
	fb.last[k], fb.count[k] = now, 0
	return true, n
}

// HandleForgery takes a refusal from ingest (on its verifier goroutine: it never waits) and queues
// it for Run, which records it. A full queue drops the record with an error log — the refusal
// itself stands and is counted by ingest.
func (o *Observer) HandleForgery(f Forgery) {
	ok, n := o.forged.admit(f, time.Now())
	if !ok {
		return
	}
	f.Refused = n
	select {
	case o.forgeries <- f:
	default:
		o.log.Error("security queue full: a refused observation is not recorded", "agent", f.Agent, "place", f.Place, "kind", f.Kind)
	}
}

func (o *Observer) recordForgery(ctx context.Context, f Forgery) {
	if err := o.chk.book.RecordForgery(ctx, f); err != nil && ctx.Err() == nil {
		o.log.Error("record a refused observation", "agent", f.Agent, "place", f.Place, "err", err)
		return
	}
	o.log.Warn("agent reported for a place not bound to it: refused and raised", slog.String("agent", f.Agent),
		slog.String("kind", f.Kind), slog.String("place", f.PlaceKind+":"+f.Place), slog.String("bound_to", f.Owner))
}

// RecordAuditBreak raises — or keeps open — the audit_broken alert: the stored audit chain no
// longer verifies at record seq (brk names how: altered, deleted, …), so the register's history
// was edited outside custodyd. It is critical, for the leaders and the secrecy office at once, and
// only a person resolves it. The alert says where the chain breaks, never what the record says.
func (b *Book) RecordAuditBreak(ctx context.Context, seq int64, brk string) error {
	now := b.now().UTC()
	return b.raiseFact(ctx, reconcile.Finding{Kind: reconcile.AuditBroken, Subject: "audit/chain", Confidence: reconcile.Confirmed, At: now,
		Text: custody.Text{ZH: fmt.Sprintf("审计链在序号 %d 处校验失败（%s）：登记簿的历史可能在 custodyd 之外被改动，请保护现场并核查数据库的访问记录", seq, brk),
			EN: fmt.Sprintf("the audit chain fails at seq %d (%s): the register's history may have been edited outside custodyd; preserve the evidence and check who had access to the database", seq, brk)},
		Evidence: reconcile.Evidence{Reason: "audit_" + brk, Since: now}}, "raise the audit chain's break")
}

// RecordLockout raises — or keeps open — an account_locked alert about an account locked after
// repeated wrong passwords, for the security administrator (the secrecy office audience). The
// register has already audited the lock; only a person resolves the alert.
func (b *Book) RecordLockout(ctx context.Context, username string) error {
	now := b.now().UTC()
	return b.raiseFact(ctx, reconcile.Finding{Kind: reconcile.AccountLocked, Subject: "person/" + username, Confidence: reconcile.Confirmed, At: now,
		Text:     custody.Text{ZH: fmt.Sprintf("账户 %s 因连续输错密码被锁定，请核实后解锁", username), EN: fmt.Sprintf("account %s was locked after repeated wrong passwords; check and unlock it", username)},
		Evidence: reconcile.Evidence{Reason: "failed_logins", Since: now}}, "raise the lockout of "+username)
}

// raiseFact raises — or keeps open — the alert of one finding that is a fact rather than a
// reading (a lockout, a broken chain): stored and alerted in one transaction.
func (b *Book) raiseFact(ctx context.Context, fd reconcile.Finding, what string) error {
	ts := store.FormatTime(fd.At)
	err := b.st.Change(ctx, func(tx *store.Tx) error {
		changed, err := b.upsertFinding(ctx, tx, fd, ts)
		if err != nil {
			return err
		}
		ch, err := b.syncAlert(ctx, tx, reconcile.Key{Kind: fd.Kind, Subject: fd.Subject}, ts)
		if err != nil {
			return err
		}
		if !changed && !ch {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	b.changed()
	return nil
}
