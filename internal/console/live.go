package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// live streams server-sent events: one named event (cabinets, alerts, desk) each time the
// fingerprint of what a page shows changes. The page then fetches its live part again through
// htmx, so the stream carries no data and needs no authorisation beyond the session — but it is
// still refused without one, and each topic only to the roles that see its page.
func (c *Console) live(w http.ResponseWriter, r *http.Request) {
	a, ok := c.actor(r)
	if !ok {
		http.Error(w, "signed out", http.StatusUnauthorized)
		return
	}
	q := r.URL.Query()
	desk := clip(q.Get("desk"), 100)
	var topics []string
	for _, t := range strings.Split(clip(q.Get("topics"), 100), ",") {
		allowed := map[string][]custody.Role{"cabinets": siteRoles, "alerts": alertReaders, "desk": deskRoles, "alarms": siteRoles}[t]
		if allowed != nil && a.Has(allowed...) && !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		http.Error(w, "no topic", http.StatusBadRequest)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // custodyd stopping ends the stream too
	defer stop()

	last := map[string]string{}
	for _, t := range topics {
		last[t] = c.fingerprint(ctx, t, desk)
	}
	tick := time.NewTicker(c.opt.LiveInterval)
	defer tick.Stop()
	beat := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, t := range topics {
			fp := c.fingerprint(ctx, t, desk)
			if fp != last[t] {
				last[t] = fp
				if _, err := fmt.Fprintf(w, "event: %s\ndata: %d\n\n", t, time.Now().UnixMilli()); err != nil {
					return
				}
			}
		}
		if beat++; beat%30 == 0 { // a comment now and then keeps proxies from closing the stream
			if _, err := fmt.Fprint(w, ": beat\n\n"); err != nil {
				return
			}
		}
		fl.Flush()
	}
}

// fingerprint is a cheap summary of the rows behind a topic; it changes when they do.
func (c *Console) fingerprint(ctx context.Context, topic, desk string) string {
	var q string
	var args []any
	switch topic {
	case "alerts":
		q = `SELECT count(*) || '/' || coalesce(sum(version), 0) FROM alerts`
	case "cabinets":
		q = `SELECT (SELECT coalesce(max(rowid), 0) FROM observations) || '/' || (SELECT count(*) || '.' || coalesce(max(updated_at), '') FROM findings) || '/' || (SELECT count(*) || '.' || coalesce(sum(version), 0) FROM alerts)`
	case "alarms":
		w, a := alarmWhere()
		q, args = `SELECT count(*) || '/' || coalesce(sum(version), 0) FROM alerts WHERE `+w, a
	case "desk":
		q = `SELECT coalesce((SELECT s.id || '.' || s.state || '.' || coalesce(s.counterpart_id, 0) || '.' || (SELECT count(*) FROM session_items WHERE session_id = s.id) || '.' || (SELECT count(*) FROM session_rejects WHERE session_id = s.id)
			FROM sessions s JOIN desks d ON d.id = s.desk_id WHERE d.code = ? ORDER BY s.id DESC LIMIT 1), '')`
		args = []any{desk}
	}
	var fp string
	if err := c.st.DB().QueryRowContext(ctx, q, args...).Scan(&fp); err != nil && ctx.Err() == nil {
		c.log.Warn("console: live fingerprint", "topic", topic, "err", err)
	}
	return fp
}
