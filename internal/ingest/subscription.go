package ingest

// What ingest asks of the connection: the observation and availability topics, a queue for what
// arrives, and a word after each (re)subscription.

import (
	"context"
	"time"

	"github.com/custodyhq/custody/internal/mqttconn"
)

// subscription is ingest's on the connection. Observations are shared (several connections or
// custodyd instances split them); availability is heard once, on the first connection.
func (in *Ingest) subscription() mqttconn.Subscription {
	return mqttconn.Subscription{
		Shared:  map[string]byte{in.topics.ObsFilter(): 1},
		First:   map[string]byte{in.topics.AvailabilityFilter(): 1},
		Receive: in.receive,
		// While we were away the broker may have dropped what it held for us: ask every agent
		// for what follows its mark (the gap loop's resyncAll).
		Subscribed: func() {
			select {
			case in.resyncN <- struct{}{}:
			default:
			}
		},
		// Another instance on the shared subscription went away: what it held unacknowledged is
		// gone from the broker with its clean session, and may be some agent's tail.
		Peers: func(instance, state string) {
			if state == "offline" {
				in.LostInTransit("custodyd instance " + instance + " went away")
			}
		},
	}
}

// receive is the connection's message handler. It must not block paho on anything but our own
// queue, which the verifier drains; when the connection or ingest stops it returns at once (the
// message stays unacknowledged and is redelivered to our session later).
func (in *Ingest) receive(ctx context.Context, m mqttconn.Message) {
	select {
	case in.msgs <- m:
		in.lastMsg.Store(time.Now().UnixNano())
	case <-ctx.Done():
	case <-in.stopped:
	}
}
