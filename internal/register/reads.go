package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Reads is the register's read side for the packages that watch it rather than change it — the
// alert checker and escalator, the inventory schedule, the console's overview: typed values, so
// that only this package knows the register's tables (docs/architecture.md, "Owners"). It holds
// nothing but the store and checks no roles: its callers decide who sees what they show.
type Reads struct{ st *store.Store }

// NewReads returns the read side of the register kept in st.
func NewReads(st *store.Store) Reads { return Reads{st} }

// Reads is the register's read side (the same as NewReads over its store).
func (r *Register) Reads() Reads { return Reads{r.st} }

// Copy is one item as reconciliation compares it with what readers saw: where the register says
// it is and, when it is out, with whom and until when.
type Copy struct {
	ID      int64
	Number  string // document number and copy, e.g. 国保发〔2026〕7号/3 (a reproduction: …/3-复制件1)
	Level   custody.Level
	EPC     string
	State   custody.State
	Cabinet string // in_cabinet, destruction_pending: the cabinet it belongs in
	Holder  string // username
	Due     time.Time
	Purpose string // why it is out (borrow, circulate, reading_room, take_out)
}

const copySelect = `SELECT i.id, d.number, coalesce(si.copy_no, i.copy_no) || CASE WHEN i.repro_no IS NULL THEN '' ELSE '-复制件' || i.repro_no END, d.level, coalesce(i.epc, ''), i.state, coalesce(c.code, ''), coalesce(p.username, ''), coalesce(i.due_at, ''), coalesce(i.purpose, '')
	FROM items i JOIN documents d ON d.id = i.document_id LEFT JOIN cabinets c ON c.id = i.cabinet_id LEFT JOIN people p ON p.id = i.holder_id LEFT JOIN items si ON si.id = i.source_item_id`

// CabinetSnapshot is what reconciling one round of a cabinet needs from the register: the copies
// registered in it (in the cabinet or awaiting destruction there) and the copies whose tags the
// round read elsewhere — epcs are the round's tags, upper-case hex; a tag of the cabinet's own
// copies costs nothing, and one the register does not know is simply absent.
func (r Reads) CabinetSnapshot(ctx context.Context, cabinet string, epcs []string) ([]Copy, error) {
	var out []Copy
	seen := map[int64]bool{}
	add := func(q string, args ...any) error {
		return r.copies(ctx, func(c Copy) {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}, q, args...)
	}
	if err := add(copySelect+` WHERE c.code = ? AND i.state IN ('in_cabinet', 'destruction_pending')`, cabinet); err != nil {
		return nil, fmt.Errorf("cabinet %s snapshot: %w", cabinet, err)
	}
	// Only the tags that are not the cabinet's own need a look-up (usually none). EPCs are kept
	// in upper-case hex (epc.Hex), so the unique index on items.epc answers it.
	own := make(map[string]bool, len(out))
	for _, c := range out {
		own[strings.ToUpper(c.EPC)] = true
	}
	var others []any
	for _, e := range epcs {
		if e = strings.ToUpper(e); !own[e] {
			others = append(others, e)
		}
	}
	for len(others) > 0 {
		n := min(len(others), 500)
		if err := add(copySelect+` WHERE i.epc IN (?`+strings.Repeat(",?", n-1)+`)`, others[:n]...); err != nil {
			return nil, fmt.Errorf("cabinet %s snapshot: %w", cabinet, err)
		}
		others = others[n:]
	}
	return out, nil
}

// Loans are the copies out with a holder and a due time (checked out, taken out of the office).
func (r Reads) Loans(ctx context.Context) ([]Copy, error) {
	var out []Copy
	err := r.copies(ctx, func(c Copy) { out = append(out, c) }, copySelect+` WHERE i.state IN ('checked_out', 'out_of_office') AND i.due_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("loans: %w", err)
	}
	return out, nil
}

func (r Reads) copies(ctx context.Context, fn func(Copy), q string, args ...any) error {
	rows, err := r.st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c Copy
		var number, copyNo, level, state, due string
		if err := rows.Scan(&c.ID, &number, &copyNo, &level, &c.EPC, &state, &c.Cabinet, &c.Holder, &due, &c.Purpose); err != nil {
			return err
		}
		c.Number = number + "/" + copyNo
		c.Level, c.State = custody.Level(level), custody.State(state)
		if due != "" {
			if t, err := time.Parse(time.RFC3339Nano, due); err == nil {
				c.Due = t
			}
		}
		fn(c)
	}
	return rows.Err()
}

// BoundCabinet is a cabinet bound to an agent, with the unit that keeps it ("" for none).
type BoundCabinet struct {
	Code, Agent, Unit string
}

// BoundCabinets lists the cabinets bound to an agent, by code.
func (r Reads) BoundCabinets(ctx context.Context) ([]BoundCabinet, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT c.code, c.agent_id, coalesce(u.code, '') FROM cabinets c LEFT JOIN units u ON u.id = c.unit_id WHERE c.agent_id IS NOT NULL ORDER BY c.code`)
	if err != nil {
		return nil, fmt.Errorf("cabinets: %w", err)
	}
	defer rows.Close()
	var out []BoundCabinet
	for rows.Next() {
		var c BoundCabinet
		if err := rows.Scan(&c.Code, &c.Agent, &c.Unit); err != nil {
			return nil, fmt.Errorf("cabinets: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CabinetsByAgent maps each agent to the codes of the cabinets bound to it, in code order.
func (r Reads) CabinetsByAgent(ctx context.Context) (map[string][]string, error) {
	cs, err := r.BoundCabinets(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range cs {
		out[c.Agent] = append(out[c.Agent], c.Code)
	}
	return out, nil
}

// PlaceUnits are the codes of the units keeping a cabinet or, with cabinet "", the cabinets an
// agent serves; a cabinet of no unit gives "". Sorted, each once.
func (r Reads) PlaceUnits(ctx context.Context, cabinet, agent string) ([]string, error) {
	q, arg := `SELECT DISTINCT coalesce(u.code, '') FROM cabinets c LEFT JOIN units u ON u.id = c.unit_id WHERE c.code = ? ORDER BY 1`, cabinet
	if cabinet == "" {
		q, arg = `SELECT DISTINCT coalesce(u.code, '') FROM cabinets c LEFT JOIN units u ON u.id = c.unit_id WHERE c.agent_id = ? ORDER BY 1`, agent
	}
	rows, err := r.st.DB().QueryContext(ctx, q, arg)
	if err != nil {
		return nil, fmt.Errorf("units of %s%s: %w", cabinet, agent, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CustodyEvent is an item's custody step as its audit record tells it.
type CustodyEvent struct {
	Action custody.Action
	At     time.Time
	Actor  string
}

// LastCustodyEvent is the item's latest custody step (store, check-out, return, dispatch …) from
// its chain of custody (item_events, rule 9); found is false for an item with none. It read the
// audit chain before, where only the steps audited about the item itself (store, encode,
// reproduce) are found — a check-out or return is audited about its session — and with no index
// on the subject that read scanned the chain for every item finding.
func (r Reads) LastCustodyEvent(ctx context.Context, item int64) (ev CustodyEvent, found bool, err error) {
	var at, action string
	var actor sql.NullString
	err = r.st.DB().QueryRowContext(ctx, `SELECT e.at, e.action, p.username FROM item_events e LEFT JOIN people p ON p.id = e.actor_id
		WHERE e.item_id = ? ORDER BY e.id DESC LIMIT 1`, item).Scan(&at, &action, &actor)
	if errors.Is(err, sql.ErrNoRows) {
		return ev, false, nil
	}
	if err != nil {
		return ev, false, fmt.Errorf("last custody event of item %d: %w", item, err)
	}
	ev = CustodyEvent{Action: custody.Action(action), Actor: actor.String}
	if !actor.Valid {
		ev.Actor = "system"
	}
	ev.At, _ = store.ParseTime(at) // the register wrote it
	return ev, true, nil
}

// CabinetItemCounts is, per cabinet code, how many copies the register has in it.
func (r Reads) CabinetItemCounts(ctx context.Context) (map[string]int, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT c.code, count(*) FROM items i JOIN cabinets c ON c.id = i.cabinet_id WHERE i.state = 'in_cabinet' GROUP BY c.code`)
	if err != nil {
		return nil, fmt.Errorf("copies per cabinet: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		out[code] = n
	}
	return out, rows.Err()
}

// DeskNames lists the desks, by code, with their codes and names only.
func (r Reads) DeskNames(ctx context.Context) ([]Desk, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT code, name FROM desks ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("desks: %w", err)
	}
	defer rows.Close()
	var out []Desk
	for rows.Next() {
		var d Desk
		if err := rows.Scan(&d.Code, &d.Name); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// OpenSessionAt is the id of the desk's open handover, 0 if it has none.
func (r Reads) OpenSessionAt(ctx context.Context, desk string) (int64, error) {
	var id int64
	err := r.st.DB().QueryRowContext(ctx, `SELECT s.id FROM sessions s JOIN desks d ON d.id = s.desk_id WHERE d.code = ? AND s.state = 'open'`, desk).Scan(&id)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return id, err
}

// DeskVersion changes whenever the desk's latest handover changes (opened, a counterpart, a copy
// or a refused scan added, closed); "" when the desk has had none. The console's live page
// compares it rather than the handover itself.
func (r Reads) DeskVersion(ctx context.Context, desk string) (string, error) {
	var v string
	err := r.st.DB().QueryRowContext(ctx, `SELECT coalesce((SELECT s.id || '.' || s.state || '.' || coalesce(s.counterpart_id, 0) || '.' || (SELECT count(*) FROM session_items WHERE session_id = s.id) || '.' || (SELECT count(*) FROM session_rejects WHERE session_id = s.id)
			FROM sessions s JOIN desks d ON d.id = s.desk_id WHERE d.code = ? ORDER BY s.id DESC LIMIT 1), '')`, desk).Scan(&v)
	return v, err
}

// CabinetPlace is the room a cabinet stands in and the agent bound to it ("" for either when
// unknown or unbound): the place an alert about the cabinet names.
func (r Reads) CabinetPlace(ctx context.Context, code string) (room, agent string, err error) {
	var bound sql.NullString
	err = r.st.DB().QueryRowContext(ctx, `SELECT room, agent_id FROM cabinets WHERE code = ?`, code).Scan(&room, &bound)
	if err == sql.ErrNoRows {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("cabinet %s: %w", code, err)
	}
	return room, bound.String, nil
}

// LossCaseOf is the newest loss case (追查) holding any of the items that is now lost; 0 if none.
func (r Reads) LossCaseOf(ctx context.Context, items []int64) (int64, error) {
	if len(items) == 0 {
		return 0, nil
	}
	args := make([]any, len(items))
	for i, id := range items {
		args[i] = id
	}
	var lc int64
	err := r.st.DB().QueryRowContext(ctx, `SELECT lc.id FROM items i JOIN loss_case_items li ON li.item_id = i.id JOIN loss_cases lc ON lc.id = li.case_id
		WHERE i.id IN (?`+strings.Repeat(",?", len(items)-1)+`) AND i.state = 'lost' ORDER BY lc.id DESC LIMIT 1`, args...).Scan(&lc)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("loss case of items: %w", err)
	}
	return lc, nil
}

// DeskName is the name of the desk with the code; found is false for a code the register does
// not know.
func (r Reads) DeskName(ctx context.Context, code string) (name string, found bool, err error) {
	err = r.st.DB().QueryRowContext(ctx, `SELECT name FROM desks WHERE code = ?`, code).Scan(&name)
	if err == sql.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("desk %s: %w", code, err)
	}
	return name, true, nil
}

// BadgeHolder names the person a badge code was issued to (an alert's story: whose badge opened
// the door); found is false for a code the register does not know.
func (r Reads) BadgeHolder(ctx context.Context, code string) (username, name string, found bool, err error) {
	err = r.st.DB().QueryRowContext(ctx, `SELECT p.username, p.name FROM badges b JOIN people p ON p.id = b.person_id WHERE b.code = ?`, code).Scan(&username, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("badge %s: %w", code, err)
	}
	return username, name, true, nil
}
