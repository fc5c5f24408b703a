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
	session, err := r.agentDesk(ctx, agent, desk)
	if err != nil {
		return ScanResult{}, err
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
		r.keepReject(ctx, session.Int64, data, source, re.Text)
	}
	return res, err
}

// unreadable says what an agent's scanner read but could not make sense of, by the cause the
// agent names (scanner.Cause); the custodian is told to scan again.
var unreadable = map[string]custody.Text{
	"control":     {ZH: "含有控制字符", EN: "it held a control character"},
	"truncated":   {ZH: "扫描中断", EN: "the scan was cut off"},
	"too_long":    {ZH: "内容过长", EN: "it was too long"},
	"aim":         {ZH: "条码类型标识无效", EN: "its symbology identifier was malformed"},
	"gs1":         {ZH: "GS1 数据格式错误", EN: "its GS1 data was malformed"},
	"check_digit": {ZH: "校验位错误", EN: "its check digit was wrong"},
	"unmapped":    {ZH: "扫描枪键盘布局不符", EN: "the scanner's keyboard layout did not match"},
	"dropped":     {ZH: "部分按键丢失", EN: "key events were lost"},
	"empty":       {ZH: "没有内容", EN: "it was empty"},
}

// AgentUnreadable records a scan the desk's scanner sent but the agent could not read
// (wire.SymbologyUnreadable, with the cause as its data): nothing is added to the handover, and
// the refusal is kept with the open session so the desk shows "scan again" (issue 21 point 7)
// where the read used to vanish without a word.
func (r *Register) AgentUnreadable(ctx context.Context, agent, desk, cause string) error {
	session, err := r.agentDesk(ctx, agent, desk)
	if err != nil {
		return err
	}
	why, ok := unreadable[cause]
	if !ok {
		why = custody.Text{ZH: "无法识别", EN: "it could not be decoded"}
	}
	text := custody.Text{ZH: "扫描枪未能读出条码（" + why.ZH + "），未记录：请重新扫描", EN: "the scanner's read could not be used (" + why.EN + "); nothing was recorded: scan again"}
	if session.Valid {
		r.keepReject(ctx, session.Int64, "", "agent:"+agent, text)
	}
	return &Error{Code: CodeInvalid, Text: text}
}

// agentDesk checks that the agent serves the desk and returns the desk's open session, if any.
func (r *Register) agentDesk(ctx context.Context, agent, desk string) (sql.NullInt64, error) {
	var owner sql.NullString
	var session sql.NullInt64
	err := r.st.DB().QueryRowContext(ctx, `SELECT d.agent_id, (SELECT id FROM sessions WHERE desk_id = d.id AND state = 'open') FROM desks d WHERE d.code = ?`, desk).Scan(&owner, &session)
	if err == sql.ErrNoRows {
		return session, refuse(CodeNotFound, "工作台 %q 不存在", "desk %q does not exist", desk)
	} else if err != nil {
		return session, storeErr("agent scan", err)
	}
	if owner.String != agent {
		return session, refuse(CodeForbidden, "代理 %s 不服务于工作台 %s，扫描未记录", "agent %s does not serve desk %s; the scan was not recorded", agent, desk)
	}
	return session, nil
}

// keepReject keeps a refused scan with its handover while it is open — the desk's list of
// rejections for the session, which survives a reload (issue 21 point 7). A scan refused because
// the handover has ended is not kept: there is no list left to show it in.
func (r *Register) keepReject(ctx context.Context, session int64, data, source string, why custody.Text) {
	err := r.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO session_rejects(session_id, at, scan, source, reason_zh, reason_en) SELECT ?,?,?,?,?,? WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ? AND state = 'open')`,
			session, store.FormatTime(r.now()), custody.Clip(data, 40), source, why.ZH, why.EN, session)
		return err
	})
	if err != nil {
		r.log.Error("keep refused desk scan", "session", session, "err", err)
	}
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
	if scan.Symbology == wire.SymbologyUnreadable {
		err := f.reg.AgentUnreadable(ctx, e.Agent, scan.Desk, scan.Data)
		f.log.Info("desk scan unreadable", "agent", e.Agent, "desk", scan.Desk, "cause", custody.Clip(scan.Data, 20), "err", err)
		return
	}
	res, err := f.reg.AgentScan(ctx, e.Agent, scan.Desk, scan.Data)
	if err != nil {
		f.log.Info("desk scan refused", "agent", e.Agent, "desk", scan.Desk, "err", err)
		return
	}
	f.log.Debug("desk scan", "agent", e.Agent, "desk", scan.Desk, "kind", res.Kind, "count", res.Session.Count)
}
