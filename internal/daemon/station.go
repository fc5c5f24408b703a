package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/wire"
)

// encodeWait bounds how long a custodian waits for a desk's station: the agent looks at the pad
// for three rounds, writes and reads back, and gives up itself after 20 s.
const encodeWait = 30 * time.Second

// station carries the register's encode_tag requests over custodyd's MQTT connection, translating
// the connection's conditions into the register's, which the custodian is told about in words.
type station struct {
	conn *mqttconn.Conn
	wait time.Duration
}

var _ register.Station = station{}

func (s station) EncodeTag(ctx context.Context, agent string, cmd wire.EncodeTag) (wire.CmdResult, error) {
	r, err := s.conn.Ask(ctx, agent, wire.KindEncodeTag, cmd, s.wait)
	switch {
	case errors.Is(err, mqttconn.ErrAgentOffline):
		return r, fmt.Errorf("%w: %w", register.ErrStationOffline, err)
	case errors.Is(err, mqttconn.ErrNoAnswer):
		return r, fmt.Errorf("%w: %w", register.ErrStationSilent, err)
	}
	return r, err
}
