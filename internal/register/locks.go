package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// LockControl sends a lock or unlock command to the agent serving a cabinet, through the signed
// command path, and returns the controller's answer (the agent's cmd_result). The daemon's wiring
// satisfies it; its errors wrap ErrStationOffline or ErrStationSilent when the agent is offline or
// does not answer in time.
type LockControl interface {
	Lock(ctx context.Context, agent, cabinet string) (wire.CmdResult, error)
	Unlock(ctx context.Context, agent, cabinet string, seconds int) (wire.CmdResult, error)
}

// The API's shape of it is defined in apitype, which custodyctl shares without linking the
// server.
type LockOutcome = apitype.LockOutcome

var (
	lockCabinets   = custody.Text{ZH: "远程上锁密码柜", EN: "lock cabinets remotely"}
	unlockCabinets = custody.Text{ZH: "远程开锁密码柜", EN: "unlock cabinets remotely"}
)

// DefaultUnlockS is how long a remote unlock lasts when no time is given.
const DefaultUnlockS = apitype.DefaultUnlockS

// LockCabinet locks a cabinet remotely (issue 15). Custodians and leaders may: locking never
// exposes a copy. Every attempt, refused or not, is one audit record.
func (r *Register) LockCabinet(ctx context.Context, a Actor, code string, lc LockControl) (LockOutcome, error) {
	if err := need(a, lockCabinets, custody.Custodian, custody.Leader); err != nil {
		return LockOutcome{}, r.lockRefused(ctx, a, "cabinet.lock", code, "", err)
	}
	agent, err := r.lockTarget(ctx, a, "cabinet.lock", code, "", lc)
	if err != nil {
		return LockOutcome{}, err
	}
	res, err := lc.Lock(ctx, agent, code)
	return r.lockDone(ctx, a, LockOutcome{Cabinet: code, Agent: agent, Action: wire.KindLock}, "", res, err)
}

// UnlockCabinet unlocks a cabinet remotely for seconds (1…600; 0: DefaultUnlockS). Only a
// custodian may, and only with a reason, which is audited with the attempt: an unlock opens the
// way to the copies. A leader's or anyone else's attempt is refused and audited.
func (r *Register) UnlockCabinet(ctx context.Context, a Actor, code string, seconds int, reason string, lc LockControl) (LockOutcome, error) {
	if err := clean(freeText("reason（开锁事由）", &reason)); err != nil {
		// The refused text is not copied into the audit record: it is what was refused.
		return LockOutcome{}, r.lockRefused(ctx, a, "cabinet.unlock", code, "", err)
	}
	if err := need(a, unlockCabinets, custody.Custodian); err != nil {
		return LockOutcome{}, r.lockRefused(ctx, a, "cabinet.unlock", code, reason, err)
	}
	if reason == "" {
		return LockOutcome{}, r.lockRefused(ctx, a, "cabinet.unlock", code, reason,
			refuse(CodeInvalid, "远程开锁须写明事由（reason）", "a remote unlock needs a reason"))
	}
	if seconds == 0 {
		seconds = DefaultUnlockS
	}
	if seconds < 1 || seconds > wire.MaxUnlockS {
		return LockOutcome{}, r.lockRefused(ctx, a, "cabinet.unlock", code, reason,
			refuseT(CodeInvalid, fmt.Sprintf("开锁时长须在 1–%d 秒之间，收到 %d", wire.MaxUnlockS, seconds), fmt.Sprintf("the unlock time must be 1–%d s, got %d", wire.MaxUnlockS, seconds)))
	}
	agent, err := r.lockTarget(ctx, a, "cabinet.unlock", code, reason, lc)
	if err != nil {
		return LockOutcome{}, err
	}
	res, err := lc.Unlock(ctx, agent, code, seconds)
	return r.lockDone(ctx, a, LockOutcome{Cabinet: code, Agent: agent, Action: wire.KindUnlock, Seconds: seconds}, reason, res, err)
}

// lockTarget finds the agent that serves the cabinet.
func (r *Register) lockTarget(ctx context.Context, a Actor, action, code, reason string, lc LockControl) (string, error) {
	var agent string
	err := r.st.DB().QueryRowContext(ctx, `SELECT coalesce(agent_id, '') FROM cabinets WHERE code = ?`, code).Scan(&agent)
	switch {
	case err == sql.ErrNoRows:
		return "", r.lockRefused(ctx, a, action, code, reason, refuse(CodeNotFound, "密码柜 %q 不存在", "cabinet %q does not exist", code))
	case err != nil:
		return "", storeErr("read cabinet", err)
	case agent == "":
		return "", r.lockRefused(ctx, a, action, code, reason, refuse(CodeInvalid, "密码柜 %s 没有指定采集代理，无法远程控制门锁", "cabinet %s has no agent; its lock cannot be controlled remotely", code))
	case lc == nil:
		return "", r.lockRefused(ctx, a, action, code, reason, refuse(CodeUnavailable, "custodyd 未连接 MQTT，无法向密码柜发送命令", "custodyd is not connected to MQTT; no command can reach the cabinet"))
	}
	return agent, nil
}

// lockRefused audits a refused attempt and returns the refusal.
func (r *Register) lockRefused(ctx context.Context, a Actor, action, code, reason string, refusal error) error {
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: a.Username, Action: action + ".refused", Subject: "cabinet:" + code,
			After: map[string]any{"reason": reason, "refusal": refusal.Error()}})
	})
	if err != nil {
		return storeErr("audit a refused lock command", err)
	}
	return refusal
}

// lockDone audits the command and its answer and says what came of it in the person's words.
func (r *Register) lockDone(ctx context.Context, a Actor, out LockOutcome, reason string, res wire.CmdResult, sent error) (LockOutcome, error) {
	out.At = r.now().UTC()
	switch {
	case errors.Is(sent, ErrStationOffline):
		out.Error = "agent offline"
	case errors.Is(sent, ErrStationSilent):
		out.Error = "no answer in time"
	case sent != nil:
		return out, fmt.Errorf("%s cabinet %s: %w", out.Action, out.Cabinet, sent)
	default:
		out.OK = res.OK != nil && *res.OK
		out.Error = res.Error
	}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: a.Username, Action: "cabinet." + out.Action, Subject: "cabinet:" + out.Cabinet,
			After: map[string]any{"agent": out.Agent, "seconds": out.Seconds, "reason": reason, "ok": out.OK, "error": out.Error}})
	})
	if err != nil {
		return out, storeErr("audit a lock command", err)
	}
	verb := map[string]custody.Text{wire.KindLock: {ZH: "上锁", EN: "lock"}, wire.KindUnlock: {ZH: "开锁", EN: "unlock"}}[out.Action]
	switch {
	case errors.Is(sent, ErrStationOffline):
		return out, &Error{Code: CodeUnavailable, Err: sent, Text: custody.Text{
			ZH: fmt.Sprintf("密码柜 %s 的采集代理 %s 离线，%s命令未送达：请检查该代理", out.Cabinet, out.Agent, verb.ZH),
			EN: fmt.Sprintf("agent %s of cabinet %s is offline; the %s command did not reach it: check the agent", out.Agent, out.Cabinet, verb.EN)}}
	case errors.Is(sent, ErrStationSilent):
		return out, &Error{Code: CodeTimeout, Err: sent, Text: custody.Text{
			ZH: fmt.Sprintf("密码柜 %s 的采集代理 %s 未及时应答%s命令：已按门锁故障告警，请到现场查看", out.Cabinet, out.Agent, verb.ZH),
			EN: fmt.Sprintf("agent %s of cabinet %s did not answer the %s command in time: raised as a lock fault, go and look", out.Agent, out.Cabinet, verb.EN)}}
	case !out.OK:
		return out, &Error{Code: CodeRefused, Text: custody.Text{
			ZH: fmt.Sprintf("密码柜 %s %s失败：%s（已按门锁故障告警）", out.Cabinet, verb.ZH, out.Error),
			EN: fmt.Sprintf("%s of cabinet %s failed: %s (raised as a lock fault)", verb.EN, out.Cabinet, out.Error)}}
	}
	return out, nil
}
