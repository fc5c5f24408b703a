package console

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// live streams server-sent events: one named event (cabinets, alerts, desk, alarms) each time
// the fingerprint of what a page shows changes. The page then fetches its live part again
// through htmx, so the stream carries no data and needs no authorisation beyond the session — but
// it is still refused without one, and each topic only to the roles that see its page. The
// fingerprints are computed once per look for every stream together (the hub), not per browser:
// two hundred open consoles cost one query per topic per look, and a change of the alert book
// wakes the hub at once instead of waiting for the next look.
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
		allowed := map[string][]custody.Role{"cabinets": siteRoles, "alerts": alertReaders, "desk": deskRoles, "alarms": alertReaders}[t]
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

	sub := c.hub.subscribe(ctx, topics, desk)
	defer c.hub.unsubscribe(sub)
	// What changed after the page took its fingerprints (fp_<topic>, before it read its data) and
	// before this stream was followed would otherwise be shown by no page until the next change:
	// a scan stored while the desk page reloaded after the last one. Announce it now. The
	// fingerprints are only compared, never shown.
	for _, t := range topics {
		if fp := q.Get("fp_" + t); fp != "" && clip(fp, 200) != c.fingerprint(ctx, t, desk) {
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %d\n\n", t, time.Now().UnixMilli()); err != nil {
				return
			}
		}
	}
	fl.Flush()
	beat := time.NewTicker(15 * time.Second) // a comment now and then keeps proxies from closing the stream
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": beat\n\n"); err != nil {
				return
			}
		case <-sub.wake:
			for _, t := range c.hub.take(sub) {
				if _, err := fmt.Fprintf(w, "event: %s\ndata: %d\n\n", t, time.Now().UnixMilli()); err != nil {
					return
				}
			}
		}
		fl.Flush()
	}
}

// noteLive takes the fingerprints of topics for a whole page (not a fragment) before it reads
// what it shows (the desk topic once the page knows its desk, p.Desk); the page hands them to its
// stream (Since).
func (c *Console) noteLive(r *http.Request, p *page, topics ...string) {
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") != "" {
		return
	}
	for _, t := range topics {
		if t == "desk" && p.Desk == "" {
			continue
		}
		if p.since == nil {
			p.since = map[string]string{}
		}
		p.since[t] = c.fingerprint(r.Context(), t, p.Desk)
	}
}

// hub computes the live fingerprints for every open stream together. Its goroutine is started
// by New and ends with the console's context.
type hub struct {
	c    *Console
	kick chan struct{} // a change was committed somewhere: look now

	mu   sync.Mutex
	subs map[*liveSub]struct{}
	last map[liveKey]string // the fingerprint last announced, per topic (and desk)
}

type liveKey struct{ topic, desk string }

type liveSub struct {
	keys    []liveKey
	wake    chan struct{} // one pending wake-up is enough: take returns every pending topic
	pending []string
}

func newHub(c *Console) *hub {
	return &hub{c: c, kick: make(chan struct{}, 1), subs: map[*liveSub]struct{}{}, last: map[liveKey]string{}}
}

// Kick makes the hub look now (the alert book calls it after every change).
func (h *hub) Kick() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *hub) subscribe(ctx context.Context, topics []string, desk string) *liveSub {
	s := &liveSub{wake: make(chan struct{}, 1)}
	for _, t := range topics {
		k := liveKey{topic: t}
		if t == "desk" {
			k.desk = desk
		}
		s.keys = append(s.keys, k)
	}
	// A topic nobody followed yet starts from its fingerprint now, as the page was just drawn.
	var fresh []liveKey
	h.mu.Lock()
	for _, k := range s.keys {
		if _, ok := h.last[k]; !ok {
			fresh = append(fresh, k)
		}
	}
	h.mu.Unlock()
	fps := map[liveKey]string{}
	for _, k := range fresh {
		fps[k] = h.c.fingerprint(ctx, k.topic, k.desk)
	}
	h.mu.Lock()
	for k, fp := range fps {
		if _, ok := h.last[k]; !ok {
			h.last[k] = fp
		}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *liveSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	for k := range h.last { // forget what nobody follows any more (a desk's page closed)
		used := false
		for o := range h.subs {
			used = used || slices.Contains(o.keys, k)
		}
		if !used {
			delete(h.last, k)
		}
	}
}

// take returns the topics announced to s since it last asked.
func (h *hub) take(s *liveSub) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := s.pending
	s.pending = nil
	return t
}

// run looks every interval, and at once when kicked.
func (h *hub) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-h.kick:
		}
		h.look(ctx)
	}
}

// look computes each followed fingerprint once and wakes the streams whose topic changed.
func (h *hub) look(ctx context.Context) {
	h.mu.Lock()
	keys := make([]liveKey, 0, len(h.last))
	for k := range h.last {
		keys = append(keys, k)
	}
	h.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	fps := make(map[liveKey]string, len(keys))
	for _, k := range keys {
		fps[k] = h.c.fingerprint(ctx, k.topic, k.desk)
	}
	if ctx.Err() != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var changed []liveKey
	for k, fp := range fps {
		if old, ok := h.last[k]; ok && old != fp {
			h.last[k] = fp
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return
	}
	for s := range h.subs {
		woke := false
		for _, k := range changed {
			if slices.Contains(s.keys, k) && !slices.Contains(s.pending, k.topic) {
				s.pending = append(s.pending, k.topic)
				woke = true
			}
		}
		if woke {
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// fingerprint is a cheap summary of the rows behind a topic; it changes when they do.
func (c *Console) fingerprint(ctx context.Context, topic, desk string) string {
	var fp string
	var err error
	switch topic {
	case "alerts":
		fp, err = c.book.AlertsVersion(ctx)
	case "cabinets":
		var row int64
		if row, err = c.st.LastRow(ctx); err == nil {
			fp, err = c.book.FindingsVersion(ctx)
			fp = strconv.FormatInt(row, 10) + "/" + fp
		}
	case "alarms":
		fp, err = c.book.UnresolvedVersion(ctx)
	case "desk":
		fp, err = c.reg.Reads().DeskVersion(ctx, desk)
	}
	if err != nil && ctx.Err() == nil {
		c.log.Warn("console: live fingerprint", "topic", topic, "err", err)
	}
	return fp
}
