package console

import (
	"context"
	"time"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/store"
)

// What the cabinets say of a copy, beside what the register says (issue 21 point 1): a copy the
// register has 在柜 may be 未读到 by its cabinet since a given time, and a page that shows only
// the register's word contradicts the alert. sighting is that second word for one copy.
type sighting struct {
	Key     string    // catalogue key under "seen.": read, not_read, not_read_confirmed, elsewhere, back, removed
	Since   time.Time // since when the cabinet says so (a finding's opening, or the last complete inventory)
	Cabinet string    // where it was read, when that is not where the register has it
}

// sightings are the cabinets' words for the copies with an open finding, and "read" at the last
// complete inventory of its cabinet for every other copy the register has in one.
type sightings struct {
	byItem map[int64]sighting
	inv    map[string]invSeen
}

func (c *Console) sightings(ctx context.Context) (sightings, error) {
	s := sightings{byItem: map[int64]sighting{}}
	fs, err := c.book.Findings(ctx, alert.Filter{Active: true}, 0)
	if err != nil {
		return s, err
	}
	for _, f := range fs {
		if f.ItemID == 0 {
			continue
		}
		var x sighting
		switch f.Kind {
		case reconcile.Missing:
			x.Key = "not_read"
			if f.Confidence == reconcile.Confirmed {
				x.Key = "not_read_confirmed"
			}
		case reconcile.UnrecordedRemoval:
			x.Key = "removed"
		case reconcile.Misplaced:
			x.Key, x.Cabinet = "elsewhere", f.Cabinet
		case reconcile.UnrecordedReturn:
			x.Key, x.Cabinet = "back", f.Cabinet
		default:
			continue
		}
		x.Since = f.OpenedAt
		s.byItem[f.ItemID] = x
	}
	if s.inv, _, err = c.observed(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// Of is the cabinets' word for a copy the register has in state at cabinet ("" key: nothing to say).
func (s sightings) Of(id int64, state custody.State, cabinet string) sighting {
	if x, ok := s.byItem[id]; ok {
		return x
	}
	if state == custody.InCabinet && cabinet != "" {
		if inv, ok := s.inv[cabinet]; ok && inv.complete {
			at, _ := store.ParseTime(inv.at)
			return sighting{Key: "read", Since: at}
		}
	}
	return sighting{}
}
