package alert

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/store"
)

// The Book is the only writer of alerts and alert_events (docs/architecture.md, "Owners"): what
// the escalator reads and records of its publishing and its notices goes through these.

// unpublished are the alerts changed since they were last published on MQTT.
func (b *Book) unpublished(ctx context.Context) ([]Alert, error) {
	return b.query(ctx, b.st.DB(), `WHERE published < version ORDER BY id`)
}

// markPublished records that the alert was published at version (or needed no publishing).
func (b *Book) markPublished(ctx context.Context, a Alert) error {
	return b.st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE alerts SET published = ? WHERE id = ? AND published < ?`, a.version, a.ID, a.version)
		return err
	})
}

// openItems are the register ids of the items of the alert's open findings, at most limit.
func (b *Book) openItems(ctx context.Context, a Alert, limit int) ([]int64, error) {
	rows, err := b.st.DB().QueryContext(ctx, `SELECT item_id FROM findings WHERE alert_id = ? AND cleared_at IS NULL AND item_id IS NOT NULL ORDER BY item_id LIMIT ?`, a.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("alert %s items: %w", a.Ref, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("alert %s items: %w", a.Ref, err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert %s items: %w", a.Ref, err)
	}
	return out, nil
}

// unsuppressed are the alerts not resolved and not inhibited, whose notices may be due.
func (b *Book) unsuppressed(ctx context.Context) ([]Alert, error) {
	return b.query(ctx, b.st.DB(), `WHERE state <> 'resolved' AND suppressed_by = '' ORDER BY id`)
}

// endedUntold are the alerts resolved since since that someone was told of and that nobody has
// yet been told (or failed to be told) had ended.
func (b *Book) endedUntold(ctx context.Context, since time.Time) ([]Alert, error) {
	return b.query(ctx, b.st.DB(), `WHERE state = 'resolved' AND resolved_at >= ?
		AND EXISTS (SELECT 1 FROM alert_events v WHERE v.alert_id = alerts.id AND v.event = 'notified')
		AND NOT EXISTS (SELECT 1 FROM alert_events v WHERE v.alert_id = alerts.id AND v.event IN ('notified', 'notify_failed') AND v.detail LIKE 'resolved%') ORDER BY id`,
		store.FormatTime(since))
}

// told returns, per audience, when it was last told of the alert (a delivered notice), when it
// was recorded as without a channel, and when delivery last failed. A repeat goes only to those
// told: nobody was reached through a channel that does not exist.
func (b *Book) told(ctx context.Context, id int64) (told, unrouted, failed map[Audience]time.Time, err error) {
	rows, err := b.st.DB().QueryContext(ctx, `SELECT audience, event, max(at) FROM alert_events WHERE alert_id = ? AND event IN ('notified', 'unrouted', 'notify_failed') GROUP BY audience, event`, id)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("alert %d history: %w", id, err)
	}
	defer rows.Close()
	told, unrouted, failed = map[Audience]time.Time{}, map[Audience]time.Time{}, map[Audience]time.Time{}
	for rows.Next() {
		var aud Audience
		var ev, at string
		if err := rows.Scan(&aud, &ev, &at); err != nil {
			return nil, nil, nil, err
		}
		t, _ := store.ParseTime(at)
		switch ev {
		case "notify_failed":
			failed[aud] = t
		case "unrouted":
			unrouted[aud] = t
		default:
			told[aud] = t
		}
	}
	return told, unrouted, failed, rows.Err()
}

// recordNotices writes into the alert's history what each audience's channels did with a notice
// (why is "" for a first notice, "repeat" or "resolved"), and the time of the last delivered one.
func (b *Book) recordNotices(ctx context.Context, a Alert, outs []outcome, why string, now time.Time) error {
	ts := store.FormatTime(now)
	return b.st.Change(ctx, func(tx *store.Tx) error {
		delivered := false
		for _, o := range outs {
			ev, detail := "notified", ""
			switch {
			case o.channel == "":
				ev, detail = "unrouted", "no channel is configured for this audience"
			case o.err != nil:
				ev, detail = "notify_failed", o.err.Error()
				if why == "resolved" {
					detail = "resolved: " + detail // not tried again: the console has it
				}
			default:
				delivered = true
				detail = why
			}
			if err := b.event(ctx, tx, a, ts, ev, o.aud, o.channel, System, detail, a.State); err != nil {
				return err
			}
		}
		if delivered {
			_, err := tx.ExecContext(ctx, `UPDATE alerts SET notified_at = ? WHERE id = ?`, ts, a.ID)
			return err
		}
		return nil
	})
}
