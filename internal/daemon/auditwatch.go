package daemon

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/store"
)

// auditFullEvery is how often the audit watch verifies the whole chain rather than the records
// appended since its last look: a record edited before that look, its successors left as they
// were, is found by a whole verification only (store.VerifyAuditSince).
const auditFullEvery = 24 * time.Hour

// auditWatch verifies the audit chain while custodyd runs, one of the leader's duties: custodyd
// checks the chain at start and refuses a broken one, but an edit of the database behind a
// running custodyd would otherwise be seen only at the next start or by an auditor opening the
// audit page. A break is a critical audit_broken alert for the leaders and the secrecy office,
// and a log line; after one the watch looks again only at the next whole verification, since the
// alert stays until a person resolves it.
type auditWatch struct {
	st    *store.Store
	book  *alert.Book
	every time.Duration
	log   *slog.Logger
}

func (w *auditWatch) run(ctx context.Context) error {
	t := time.NewTicker(w.every)
	defer t.Stop()
	var quietUntil time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if time.Now().Before(quietUntil) {
			continue
		}
		res, _, err := w.st.VerifyAuditSince(ctx, auditFullEvery)
		var brk *audit.Break
		switch {
		case errors.As(err, &brk):
			w.log.Error("audit chain broken while running: the register's history was edited outside custodyd", "seq", brk.Seq, "kind", brk.Kind, "detail", brk.Detail)
			if err := w.book.RecordAuditBreak(ctx, brk.Seq, brk.Kind); err != nil && ctx.Err() == nil {
				w.log.Error("raise the audit chain's break", "err", err)
				continue // raise it at the next look
			}
			quietUntil = time.Now().Add(auditFullEvery)
		case err != nil && ctx.Err() == nil:
			w.log.Warn("verify the audit chain", "err", err)
		case err == nil:
			w.log.Debug("audit chain verified", "records", res.Records, "head", res.Head)
		}
	}
}
