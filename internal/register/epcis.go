package register

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/store"
)

// The register's side of the EPCIS export (issue 19 point 4): the custody steps and the fixed
// outcomes of periodic checks in a span of time, as identifiers only. Package epcis turns them
// into an EPCISDocument; it runs no SQL, so this file is the one reader of item_events and
// check_items for it. Nothing here carries a title, a document number or a person: the export
// may leave the office (DESIGN rule 11), and the level only when the caller asked for it.

// Kinds of custody record.
const (
	RecordRegistered = "registered" // the copy entered the register (its document's registration)
	RecordStep       = "step"       // one row of item_events
	RecordFinding    = "finding"    // one copy's outcome in a check, fixed at its first signature
)

// CustodyRecord is one custody fact about one copy, content-free.
type CustodyRecord struct {
	Kind string `json:"kind"`
	// Key is stable for the fact and unique in the register: "step:<item_events.id>",
	// "registered:<item id>", "finding:<check id>:<item id>". The event id is derived from it.
	Key    string    `json:"key"`
	Item   int64     `json:"item"`
	EPC    string    `json:"epc,omitempty"` // the copy's GDTI-96 pure-identity URI, "" when it has none
	At     time.Time `json:"at"`
	Action string    `json:"action,omitempty"` // custody.Action for steps
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	// Outcome is the check outcome (CheckFound …) for findings.
	Outcome string `json:"outcome,omitempty"`
	Check   int64  `json:"check,omitempty"`
	// Cabinet and Room locate the fact: for a step, the copy's home cabinet (item_events does not
	// keep the cabinet of each step; a copy goes back to its home cabinet, so this is exact unless
	// the copy was moved between cabinets since); for a finding, the cabinet that read it when it
	// was read elsewhere.
	Cabinet string        `json:"cabinet,omitempty"`
	Room    string        `json:"room,omitempty"`
	Level   custody.Level `json:"level,omitempty"` // only when asked for
}

// CustodyQuery selects the records of an export.
type CustodyQuery struct {
	// From and To bound the span [From, To): RFC 3339, or "2026-12-01 08:00" / "2026-12-01"
	// (midnight) in the site zone; "" is unbounded.
	From, To  string
	WithLevel bool   // include each copy's level (asked explicitly, recorded in the audit)
	Format    string // what the records are exported as, for the audit record ("epcis")
}

var exportCustody = custody.Text{ZH: "导出流转事件（EPCIS）", EN: "export custody events (EPCIS)"}

// CustodyRecords returns the records of q in time order (ties in key order) and audits the
// export: who, the span, whether levels were included and how many records left.
func (r *Register) CustodyRecords(ctx context.Context, a Actor, q CustodyQuery) ([]CustodyRecord, error) {
	if err := need(a, exportCustody, custody.Auditor, custody.Custodian, custody.Leader); err != nil {
		return nil, err
	}
	tFrom, err := r.parseSpan(q.From)
	if err != nil {
		return nil, err
	}
	tTo, err := r.parseSpan(q.To)
	if err != nil {
		return nil, err
	}
	if !tFrom.IsZero() && !tTo.IsZero() && !tTo.After(tFrom) {
		return nil, refuse(CodeInvalid, "导出时段的结束时间须晚于开始时间", "the end of the span must be after its start")
	}
	from, to := "", "9999"
	if !tFrom.IsZero() {
		from = store.FormatTime(tFrom)
	}
	if !tTo.IsZero() {
		to = store.FormatTime(tTo)
	}
	var out []CustodyRecord
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		var err error
		if out, err = r.custodyRecords(ctx, tx, from, to, q.WithLevel); err != nil {
			return err
		}
		after := map[string]any{"format": q.Format, "records": len(out), "with_level": q.WithLevel}
		if !tFrom.IsZero() {
			after["from"] = from
		}
		if !tTo.IsZero() {
			after["to"] = to
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "custody.export", Subject: "custody_events", After: after})
	})
	if err != nil {
		return nil, storeErr("custody export", err)
	}
	return out, nil
}

func (r *Register) custodyRecords(ctx context.Context, tx *store.Tx, from, to string, withLevel bool) ([]CustodyRecord, error) {
	out := []CustodyRecord{}
	add := func(q string, scan func(*sql.Rows, *CustodyRecord, *string, *string, *string) error, args ...any) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c CustodyRecord
			var at, hexEPC, level string
			if err := scan(rows, &c, &at, &hexEPC, &level); err != nil {
				return err
			}
			t, err := store.ParseTime(at)
			if err != nil {
				return fmt.Errorf("time %q of %s: %w", at, c.Key, err)
			}
			c.At = t
			c.EPC = r.pureIdentity(c.Item, hexEPC)
			if withLevel {
				c.Level = custody.Level(level)
			}
			out = append(out, c)
		}
		return rows.Err()
	}
	const loc = ` LEFT JOIN cabinets hc ON hc.id = coalesce(i.home_cabinet_id, i.cabinet_id)`
	// Registrations: an original copy enters the register with its document. A reproduction's
	// first fact is its approval's step, so it has no registration record of its own.
	// The registration's time is the document's, or the copy's first step when that was
	// recorded earlier in the same transaction (receiving stores the copies as it registers them).
	// The earlier of the two is a CASE: SQLite's two-argument min() is PostgreSQL's LEAST, and
	// neither store has the other's.
	if err := add(`SELECT id, reg, epc, level, cab, room FROM (
			SELECT id, CASE WHEN first < made THEN first ELSE made END AS reg, epc, level, cab, room FROM (
				SELECT i.id, d.created_at AS made, (SELECT min(at) FROM item_events WHERE item_id = i.id) AS first,
				coalesce(i.epc, '') AS epc, d.level, coalesce(hc.code, '') AS cab, coalesce(hc.room, '') AS room
				FROM items i JOIN documents d ON d.id = i.document_id`+loc+`
				WHERE i.source_item_id IS NULL) AS x) AS r
		WHERE reg >= ? AND reg < ?`,
		func(rows *sql.Rows, c *CustodyRecord, at, e, l *string) error {
			c.Kind = RecordRegistered
			if err := rows.Scan(&c.Item, at, e, l, &c.Cabinet, &c.Room); err != nil {
				return err
			}
			c.Key = fmt.Sprintf("registered:%d", c.Item)
			c.To = string(custody.Registered)
			return nil
		}, from, to); err != nil {
		return nil, err
	}
	if err := add(`SELECT e.id, e.item_id, e.at, e.action, e.from_state, e.to_state, coalesce(i.epc, ''), d.level, coalesce(hc.code, ''), coalesce(hc.room, '')
		FROM item_events e JOIN items i ON i.id = e.item_id JOIN documents d ON d.id = i.document_id`+loc+`
		WHERE e.at >= ? AND e.at < ?`,
		func(rows *sql.Rows, c *CustodyRecord, at, e, l *string) error {
			c.Kind = RecordStep
			var id int64
			if err := rows.Scan(&id, &c.Item, at, &c.Action, &c.From, &c.To, e, l, &c.Cabinet, &c.Room); err != nil {
				return err
			}
			c.Key = fmt.Sprintf("step:%d", id)
			return nil
		}, from, to); err != nil {
		return nil, err
	}
	// Findings: a check's outcomes are fixed by its first signature (frozen_at); before that they
	// are a count in progress, not a finding. "left" (the copy left by a recorded step, exported as
	// that step) and "unchecked" (nothing was observed) are not findings about the copy.
	if err := add(`SELECT k.check_id, k.item_id, c.frozen_at, k.outcome, coalesce(nullif(k.seen_cabinet, ''), hc.code, ''),
			coalesce(sc.room, hc.room, ''), coalesce(i.epc, ''), d.level
		FROM check_items k JOIN checks c ON c.id = k.check_id JOIN items i ON i.id = k.item_id JOIN documents d ON d.id = i.document_id`+loc+`
		LEFT JOIN cabinets sc ON sc.code = nullif(k.seen_cabinet, '')
		WHERE c.frozen_at IS NOT NULL AND k.outcome NOT IN ('', 'left', 'unchecked') AND c.frozen_at >= ? AND c.frozen_at < ?`,
		func(rows *sql.Rows, c *CustodyRecord, at, e, l *string) error {
			c.Kind = RecordFinding
			if err := rows.Scan(&c.Check, &c.Item, at, &c.Outcome, &c.Cabinet, &c.Room, e, l); err != nil {
				return err
			}
			c.Key = fmt.Sprintf("finding:%d:%d", c.Check, c.Item)
			return nil
		}, from, to); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		if ri, rj := out[i].Kind == RecordRegistered, out[j].Kind == RecordRegistered; ri != rj {
			return ri // a copy is registered before its first step of the same instant
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// pureIdentity gives the copy's GDTI pure-identity URI: from the EPC on its tag, or the one the
// installation's issuer makes for it; "" when the office configured no company prefix.
func (r *Register) pureIdentity(item int64, hexEPC string) string {
	if hexEPC != "" {
		if e, err := epc.DecodeHex(hexEPC); err == nil {
			return e.PureIdentityURI()
		}
	}
	if r.issuer.CompanyPrefix == "" {
		return ""
	}
	e, err := r.issuer.ForItem(uint64(item))
	if err != nil {
		return ""
	}
	return e.PureIdentityURI()
}

// parseSpan reads one end of an export's span: RFC 3339, or a time or date (midnight) in the
// site zone, never the host's; "" is the zero time (unbounded).
func (r *Register) parseSpan(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) <= 40 {
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
			if t, err := r.zone.Parse(layout, s); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, refuse(CodeInvalid, "时间 %q 格式不对，应为 2026-12-01、2026-12-01 08:00 或 RFC 3339", "time %q is not understood: use 2026-12-01, 2026-12-01 08:00 or RFC 3339", custody.Clip(s, 64))
}
