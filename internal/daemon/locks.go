package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/wire"
)

// lockWait bounds how long a person waits for a cabinet's controller: the agent gives a lock
// command 10 s on the bus.
const lockWait = 15 * time.Second

// locks carries the register's remote lock and unlock over the connection's signed command path, and
// tells the alert checker what was commanded and what came of it: a command that failed or was
// not answered is a lock_fault.
type locks struct {
	conn *mqttconn.Conn
	chk  func() *alert.Checker // the leading checker, or a standby one that records results only
	wait time.Duration
}

var _ register.LockControl = locks{}

func (l locks) Lock(ctx context.Context, agent, cabinet string) (wire.CmdResult, error) {
	return l.ask(ctx, agent, cabinet, wire.KindLock, wire.Lock{Cabinet: cabinet}, "")
}

func (l locks) Unlock(ctx context.Context, agent, cabinet string, seconds int) (wire.CmdResult, error) {
	return l.ask(ctx, agent, cabinet, wire.KindUnlock, wire.Unlock{Cabinet: cabinet, Seconds: seconds}, fmt.Sprintf("%d s", seconds))
}

func (l locks) ask(ctx context.Context, agent, cabinet, kind string, body any, detail string) (wire.CmdResult, error) {
	l.chk().Commanded(cabinet, kind, detail, time.Now())
	r, err := l.conn.Ask(ctx, agent, kind, body, l.wait)
	failure := ""
	switch {
	case errors.Is(err, mqttconn.ErrAgentOffline):
		return r, fmt.Errorf("%w: %w", register.ErrStationOffline, err)
	case errors.Is(err, mqttconn.ErrNoAnswer):
		failure = "no answer within " + l.wait.String()
		err = fmt.Errorf("%w: %w", register.ErrStationSilent, err)
	case err != nil:
		return r, err
	case r.OK == nil || !*r.OK:
		failure = r.Error
		if failure == "" {
			failure = "failed"
		}
	}
	// The person's answer does not wait for the alert book; a lost context still records it.
	if ferr := l.chk().LockResult(context.WithoutCancel(ctx), agent, cabinet, kind, time.Now(), failure); ferr != nil {
		return r, errors.Join(err, fmt.Errorf("record the lock result: %w", ferr))
	}
	return r, err
}

// inventories carries a 清查's "inventory now" over the connection's signed command path.
type inventories struct{ conn *mqttconn.Conn }

var _ register.InventoryControl = inventories{}

func (v inventories) CommandInventory(ctx context.Context, agent, cabinet string) error {
	// The agent's persistent session keeps the command while it is away: it runs the round
	// when it is back, and the check judges by the report whenever it comes.
	_, err := v.conn.Send(ctx, agent, wire.KindInventory, wire.InventoryCmd{Cabinet: cabinet, Mode: "now", Reason: "periodic_check"})
	return err
}
