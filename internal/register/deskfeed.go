package register

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// AgentScan is DeskScan for a scan observation from an agent: the desk must be one the agent
// serves (desks.agent_id), so an agent cannot feed another desk's handover. A refused scan is kept
// with the open session, where the custodian sees it (Session.Rejected).
func (r *Register) AgentScan(ctx context.Context, agent, desk, data string) (ScanResult, error) {
	var owner sql.NullString
	var session sql.NullInt64
	err := r.st.DB().QueryRowContext(ctx, `SELECT d.agent_id, (SELECT id FROM sessions WHERE desk_id = d.id AND state = 'open') FROM desks d WHERE d.code = ?`, desk).Scan(&owner, &session)
	if err == sql.ErrNoRows {
		return ScanResult{}, refuse(CodeNotFound, "工作台 %q 不存在", "desk %q does not exist", desk)
	} else if err != nil {
		return ScanResult{}, storeErr("agent scan", err)
	}
	if owner.String != agent {
		return ScanResult{}, refuse(CodeForbidden, "代理 %s 不服务于工作台 %s，扫描未记录", "agent %s does not serve desk %s; the scan was not recorded", agent, desk)
	}
	source := "agent:" + agent
	if !session.Valid {
		// No handover at the desk: during a 清查 of the desk's unit the read is a desk scan of it.
		if res, found, err := r.checkDeskScan(ctx, desk, data, source); found {
			return res, err
		}
	}
	res, err := r.DeskScan(ctx, desk, data, source)
	var re *Error
	if err != nil && session.Valid && errors.As(err, &re) {
		werr := r.st.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO session_rejects(session_id, at, scan, source, reason_zh, reason_en) VALUES (?,?,?,?,?,?)`,
				session.Int64, store.FormatTime(r.now()), custody.Clip(data, 40), source, re.Text.ZH, re.Text.EN)
			return err
		})
		if werr != nil {
			r.log.Error("keep refused desk scan", "desk", desk, "err", werr)
		}
	}
	return res, err
}

// The API's shape of it is defined in apitype, which custodyctl shares without linking the
// server.
type RejectedScan = apitype.RejectedScan

// DeskFeed feeds the agents' scan observations into the open handover of their desk. It
// satisfies ingest.Handler: HandleObservations only queues, and Run applies the scans on its own
// goroutine, so ingest's commit loop never waits for the register.
type DeskFeed struct {
	reg *Register
	log *slog.Logger
	ch  chan wire.Envelope
}

// NewDeskFeed returns a feed holding up to queue scans not yet applied.
func (r *Register) NewDeskFeed(queue int) *DeskFeed {
	if queue <= 0 {
		queue = 256
	}
	return &DeskFeed{reg: r, log: r.log, ch: make(chan wire.Envelope, queue)}
}

// HandleObservations queues the scan observations among obs. A full queue drops the scan with a
// warning: the custodian sees no count change and scans again.
func (f *DeskFeed) HandleObservations(ctx context.Context, obs []wire.Envelope) {
	for _, e := range obs {
		if e.Kind != wire.KindScan {
			continue
		}
		select {
		case f.ch <- e:
		default:
			f.log.Warn("desk scan dropped: queue full", "agent", e.Agent, "id", e.ID)
		}
	}
}

// Run applies queued scans until ctx ends.
func (f *DeskFeed) Run(ctx context.Context) error {
	f.log.Info("desk feed started")
	defer f.log.Info("desk feed stopped")
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-f.ch:
			f.apply(ctx, e)
		}
	}
}

func (f *DeskFeed) apply(ctx context.Context, e wire.Envelope) {
	body, err := e.DecodeBody(wire.DirObs)
	if err != nil {
		f.log.Warn("desk scan: bad body", "agent", e.Agent, "id", e.ID, "err", err)
		return
	}
	scan, ok := body.(*wire.Scan)
	if !ok {
		return
	}
	res, err := f.reg.AgentScan(ctx, e.Agent, scan.Desk, scan.Data)
	if err != nil {
		f.log.Info("desk scan refused", "agent", e.Agent, "desk", scan.Desk, "err", err)
		return
	}
	f.log.Debug("desk scan", "agent", e.Agent, "desk", scan.Desk, "kind", res.Kind, "count", res.Session.Count)
}
