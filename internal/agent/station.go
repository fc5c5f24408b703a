package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/wire"
)

// The tag-encoding station (mqtt.md §6.1): a reader at a custodian's desk writes an item's EPC
// onto the one blank tag on its pad. The agent knows nothing of the register, so custodyd sends
// its company prefix along: a tag carrying a GDTI-96 under that prefix belongs to a registered
// item and is never overwritten; anything else on a tag is blank stock.

// The two drivers' writers differ (the R2000 takes an access password, the M6e does not), so the
// station asks for whichever the driver has. Both read back and return reader.ErrVerify when the
// new EPC is not seen.
type (
	passwordWriter interface {
		WriteEPC(ctx context.Context, antenna int, password uint32, epc []byte) error
	}
	plainWriter interface {
		WriteEPC(ctx context.Context, antenna int, epc []byte) error
	}
)

// stationRounds is how many inventory rounds look at the pad before deciding: one round can miss
// a tag, and a missed second tag would let the write land on the wrong copy.
const stationRounds = 3

// encodeTag executes one encode_tag command on the desk's station. It returns what happened and,
// when nothing was written, a message for the operator (the cmd_result's error).
func (a *Agent) encodeTag(ctx context.Context, env wire.Envelope, b *wire.EncodeTag) (*wire.TagResult, string) {
	refuse := func(reason string, seen int, found, format string, args ...any) (*wire.TagResult, string) {
		return &wire.TagResult{Outcome: wire.TagRefused, Reason: reason, EPC: found, Seen: seen}, fmt.Sprintf(format, args...)
	}
	want := strings.ToUpper(b.EPC)
	rc, ok := a.cfg.Stations()[b.Desk]
	u := a.readers[rc.ID]
	if !ok || u == nil {
		return refuse(wire.TagNoStation, 0, "", "agent %s has no tag-encoding station for desk %s", a.cfg.Agent.ID, b.Desk)
	}
	// As for unlock: a command that waited in the persistent session may no longer concern the
	// copy now lying on the pad.
	if at, err := wire.ParseTime(env.At); err == nil {
		if age := a.now().Sub(at); age > staleLock {
			return refuse(wire.TagStale, 0, "", "command is %s old (limit %s); not executed — send it again", age.Round(time.Second), staleLock)
		}
	}
	if !u.waitConnected(ctx, 5*time.Second) {
		return refuse(wire.TagReaderDown, 0, "", "station reader %s of desk %s is not connected (%s)", rc.ID, b.Desk, u.portName())
	}
	newEPC, err := hex.DecodeString(want)
	if err != nil {
		return refuse(wire.TagWriteFailed, 0, "", "epc %q is not hex", b.EPC)
	}

	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.drv == nil {
		return refuse(wire.TagReaderDown, 0, "", "station reader %s of desk %s is not connected", rc.ID, b.Desk)
	}
	seen := map[string]bool{}
	var order []string
	plan := reader.Plan{Antennas: []int{rc.StationAntenna}, Session: 0, Target: reader.TargetA, PowerDBm: rc.StationPowerDBm, Rounds: stationRounds}
	err = u.drv.Inventory(cctx, plan, func(e reader.Event) {
		if t, ok := e.(reader.TagRead); ok {
			h := reader.HexUpper(t.EPC)
			if !seen[h] {
				seen[h] = true
				order = append(order, h)
			}
		}
	})
	if err != nil {
		if ctx.Err() == nil {
			u.drop(err)
		}
		return refuse(wire.TagReaderDown, len(order), "", "station reader %s of desk %s: look at the pad: %v", rc.ID, b.Desk, err)
	}
	u.seen()
	switch {
	case len(order) == 0:
		return refuse(wire.TagNoTag, 0, "", "no tag on the pad of desk %s", b.Desk)
	case len(order) > 1:
		return refuse(wire.TagSeveral, len(order), "", "%d tags in the field of desk %s: leave only the copy to encode on the pad", len(order), b.Desk)
	}
	found := order[0]
	if found == want {
		a.log.Info("tag already carries the EPC; nothing written", "desk", b.Desk, "item", b.Item, "epc", want)
		return &wire.TagResult{Outcome: wire.TagAlready, EPC: want, Seen: 1}, ""
	}
	if e, err := epc.DecodeHex(found); err == nil && epc.IsOurs(e, b.CompanyPrefix) {
		return refuse(wire.TagOtherItem, 1, found, "the tag on the pad of desk %s carries %s, another registered item's EPC; not overwritten", b.Desk, found)
	}
	switch w := u.drv.(type) {
	case passwordWriter:
		err = w.WriteEPC(cctx, rc.StationAntenna, 0, newEPC)
	case plainWriter:
		err = w.WriteEPC(cctx, rc.StationAntenna, newEPC)
	default:
		return refuse(wire.TagWriteFailed, 1, found, "the %s driver of reader %s cannot write tags", rc.Driver, rc.ID)
	}
	switch {
	case err == nil:
		u.seen()
		a.log.Info("tag encoded", "desk", b.Desk, "item", b.Item, "epc", want, "was", found)
		return &wire.TagResult{Outcome: wire.TagWritten, EPC: want, Seen: 1}, ""
	case errors.Is(err, reader.ErrVerify):
		return refuse(wire.TagVerify, 1, found, "wrote %s at desk %s but reading back did not show it; try again or use another tag", want, b.Desk)
	case errors.Is(err, reader.ErrNoTag):
		return refuse(wire.TagNoTag, 1, found, "the tag left the pad of desk %s before it was written", b.Desk)
	case errors.Is(err, reader.ErrTimeout), errors.Is(err, reader.ErrClosed):
		if ctx.Err() == nil {
			u.drop(err)
		}
		return refuse(wire.TagReaderDown, 1, found, "station reader %s of desk %s: write: %v", rc.ID, b.Desk, err)
	}
	return refuse(wire.TagWriteFailed, 1, found, "station reader %s of desk %s: write: %v", rc.ID, b.Desk, err)
}
