package register

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/auth"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	Agent   = apitype.Agent
	Cabinet = apitype.Cabinet
	Desk    = apitype.Desk
	Zone    = apitype.Zone
)

var (
	managePlaces = custody.Text{ZH: "管理密码柜和工作台", EN: "manage cabinets and desks"}
	manageAgents = custody.Text{ZH: "管理采集代理", EN: "manage agents"}
)

func validCode(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n/#+$")
}

// AddCabinet registers a cabinet. Custodians and admins set up cabinets.
func (r *Register) AddCabinet(ctx context.Context, a Actor, c Cabinet) (Cabinet, error) {
	if err := need(a, managePlaces, custody.Custodian, custody.Admin); err != nil {
		return Cabinet{}, err
	}
	if err := clean(code("code", &c.Code, false), text("name", &c.Name, custody.MaxName, false), code("room", &c.Room, false), code("agent", &c.Agent, false)); err != nil {
		return Cabinet{}, err
	}
	if !validCode(c.Code) || strings.TrimSpace(c.Name) == "" {
		return Cabinet{}, refuse(CodeInvalid, "密码柜需要代码（不含空格、/、#、+、$）和名称", "a cabinet needs a code (no spaces, /, #, + or $) and a name")
	}
	if c.Zones == nil {
		c.Zones = []Zone{}
	}
	zones, _ := json.Marshal(c.Zones)
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var agent any
		unit, code, err := r.placeUnit(ctx, tx, a, c.Unit, custody.Text{ZH: "密码柜 " + c.Code, EN: "cabinet " + c.Code})
		if err != nil {
			return err
		}
		c.Unit = code
		if c.Agent != "" {
			agent = c.Agent
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO cabinets(code, name, room, unit_id, agent_id, zones, created_at) VALUES (?,?,?,?,?,?,?) RETURNING id`, c.Code, c.Name, c.Room, unit, agent, string(zones), store.Now()).Scan(&c.ID)
		switch err := store.Classify(err); {
		case errors.Is(err, store.ErrConflict):
			return refuse(CodeConflict, "密码柜代码 %q 已存在", "cabinet code %q already exists", c.Code)
		case err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key"): // SQLite: FOREIGN KEY constraint failed; PostgreSQL: violates foreign key constraint
			return refuse(CodeNotFound, "采集代理 %q 未登记", "agent %q is not enrolled", c.Agent)
		case err != nil:
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "cabinet.add", Subject: fmt.Sprintf("cabinet:%d", c.ID), After: c})
	})
	return c, storeErr("add cabinet", err)
}

// Cabinets lists cabinets.
func (r *Register) Cabinets(ctx context.Context, a Actor) ([]Cabinet, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT c.id, c.code, c.name, c.room, coalesce(u.code, ''), coalesce(c.agent_id, ''), c.zones FROM cabinets c LEFT JOIN units u ON u.id = c.unit_id ORDER BY c.code`)
	if err != nil {
		return nil, storeErr("list cabinets", err)
	}
	defer rows.Close()
	out := []Cabinet{}
	for rows.Next() {
		var c Cabinet
		var zones string
		if err := rows.Scan(&c.ID, &c.Code, &c.Name, &c.Room, &c.Unit, &c.Agent, &zones); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(zones), &c.Zones); err != nil {
			return nil, fmt.Errorf("cabinet %s zones: %w", c.Code, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AddDesk registers a custodian's desk.
func (r *Register) AddDesk(ctx context.Context, a Actor, d Desk) (Desk, error) {
	if err := need(a, managePlaces, custody.Custodian, custody.Admin); err != nil {
		return Desk{}, err
	}
	if err := clean(code("code", &d.Code, false), text("name", &d.Name, custody.MaxName, false), code("room", &d.Room, false), code("agent", &d.Agent, false)); err != nil {
		return Desk{}, err
	}
	if !validCode(d.Code) || strings.TrimSpace(d.Name) == "" {
		return Desk{}, refuse(CodeInvalid, "工作台需要代码和名称", "a desk needs a code and a name")
	}
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var agent any
		if d.Agent != "" {
			agent = d.Agent
		}
		unit, code, err := r.placeUnit(ctx, tx, a, d.Unit, custody.Text{ZH: "工作台 " + d.Code, EN: "desk " + d.Code})
		if err != nil {
			return err
		}
		d.Unit = code
		err = tx.QueryRowContext(ctx, `INSERT INTO desks(code, name, room, agent_id, unit_id, created_at) VALUES (?,?,?,?,?,?) RETURNING id`, d.Code, d.Name, d.Room, agent, unit, store.Now()).Scan(&d.ID)
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "工作台代码 %q 已存在", "desk code %q already exists", d.Code)
		} else if err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "desk.add", Subject: fmt.Sprintf("desk:%d", d.ID), After: d})
	})
	return d, storeErr("add desk", err)
}

// EnrollAgent registers an agent and returns its key, which is shown once: custodyd keeps it to
// verify the agent's MACs and MQTT login, and nobody can read it back through the API.
func (r *Register) EnrollAgent(ctx context.Context, a Actor, id string) (Agent, []byte, error) {
	if err := need(a, manageAgents, custody.Admin); err != nil {
		return Agent{}, nil, err
	}
	if err := clean(code("id", &id, true)); err != nil {
		return Agent{}, nil, err
	}
	if !validCode(id) {
		return Agent{}, nil, refuse(CodeInvalid, "代理标识 %q 无效（不能为空，不含空格、/、#、+、$）", "agent id %q is invalid (not empty; no spaces, /, #, + or $)", id)
	}
	if custody.Reserved(id) {
		return Agent{}, nil, refuse(CodeInvalid, "代理标识 %q 为系统保留（custodyd 自身在消息服务器上使用）", "agent id %q is reserved: custodyd itself uses it on the broker", id)
	}
	key := auth.RandomSecret(32)
	ag := Agent{ID: id, Created: store.Now()}
	// The agent's envelopes must use the installation's MAC from now on (wire.ReasonMACAlg).
	mac := r.st.Profile().EnvelopeMAC()
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		// A revoked agent (or one restored from a backup, whose key was left out) enrols again
		// under its id with a new key; an active one is a conflict.
		res, err := tx.ExecContext(ctx, `INSERT INTO agents(id, key, created_at, mac_alg) VALUES (?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET key = excluded.key, created_at = excluded.created_at, mac_alg = excluded.mac_alg, revoked_at = NULL WHERE agents.revoked_at IS NOT NULL`, id, key, ag.Created, mac)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				err = store.ErrConflict
			}
		}
		if errors.Is(store.Classify(err), store.ErrConflict) {
			return refuse(CodeConflict, "代理 %q 已登记", "agent %q is already enrolled", id)
		} else if err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "agent.enroll", Subject: "agent:" + id, After: map[string]string{"mac_alg": mac}})
	})
	if err != nil {
		return Agent{}, nil, storeErr("enroll agent", err)
	}
	return ag, key, nil
}

// RevokeAgent revokes an agent's key at once.
func (r *Register) RevokeAgent(ctx context.Context, a Actor, id string) error {
	if err := need(a, manageAgents, custody.Admin); err != nil {
		return err
	}
	return storeErr("revoke agent", r.st.Change(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, store.Now(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return refuse(CodeNotFound, "代理 %q 不存在或已吊销", "agent %q does not exist or is already revoked", id)
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "agent.revoke", Subject: "agent:" + id})
	}))
}

// Agents lists enrolled agents (never their keys).
func (r *Register) Agents(ctx context.Context, a Actor) ([]Agent, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT id, created_at, coalesce(revoked_at, '') FROM agents ORDER BY id`)
	if err != nil {
		return nil, storeErr("list agents", err)
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		var ag Agent
		if err := rows.Scan(&ag.ID, &ag.Created, &ag.Revoked); err != nil {
			return nil, err
		}
		out = append(out, ag)
	}
	return out, rows.Err()
}

// Places an agent may speak for (DESIGN.md §5 rule 12).
const (
	PlaceCabinet = "cabinet"
	PlaceDesk    = "desk"
)

// PlaceAgent returns the agent a cabinet or desk (kind PlaceCabinet or PlaceDesk) is bound to;
// found is false when no such place is registered, agent is "" when it is bound to none. Ingest
// asks it for every observation: an agent speaks only for its own places.
func (r *Register) PlaceAgent(ctx context.Context, kind, code string) (agent string, found bool, err error) {
	var q string
	switch kind {
	case PlaceCabinet:
		q = `SELECT coalesce(agent_id, '') FROM cabinets WHERE code = ?`
	case PlaceDesk:
		q = `SELECT coalesce(agent_id, '') FROM desks WHERE code = ?`
	default:
		return "", false, fmt.Errorf("place kind %q: want cabinet or desk", kind)
	}
	err = r.st.DB().QueryRowContext(ctx, q, code).Scan(&agent)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("which agent serves %s %q: %w", kind, code, store.Classify(err))
	}
	return agent, true, nil
}

var bindPlaces = custody.Text{ZH: "更改密码柜或工作台绑定的采集代理", EN: "rebind a cabinet or desk to an agent"}

// BindPlace binds a cabinet or desk to another agent (or, with agent "", to none): from then on
// only that agent's observations about it are accepted. Only the system administrator rebinds,
// and every rebinding is an audit record with the old and the new agent. The caller must tell
// ingest (which caches bindings) once it returns.
func (r *Register) BindPlace(ctx context.Context, a Actor, kind, code, agent string) error {
	if err := need(a, bindPlaces, custody.Admin); err != nil {
		return err
	}
	table := map[string]string{PlaceCabinet: "cabinets", PlaceDesk: "desks"}[kind]
	if table == "" {
		return refuse(CodeInvalid, "位置类型 %q 无效（应为 cabinet 或 desk）", "place kind %q is invalid (want cabinet or desk)", kind)
	}
	return storeErr("rebind "+kind, r.st.Change(ctx, func(tx *store.Tx) error {
		var id int64
		var old, since string
		err := tx.QueryRowContext(ctx, `SELECT id, coalesce(agent_id, ''), coalesce(agent_since, '') FROM `+table+` WHERE code = ?`, code).Scan(&id, &old, &since)
		if errors.Is(err, sql.ErrNoRows) {
			return refuse(CodeNotFound, placeZHName(kind)+" %q 未登记", kind+" %q is not registered", code)
		} else if err != nil {
			return err
		}
		if agent != "" {
			var revoked sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM agents WHERE id = ?`, agent).Scan(&revoked)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return refuse(CodeNotFound, "采集代理 %q 未登记", "agent %q is not enrolled", agent)
			case err != nil:
				return err
			case revoked.Valid:
				return refuse(CodeConflict, "采集代理 %q 已吊销，不能绑定", "agent %q is revoked and cannot be bound", agent)
			}
		}
		if old == agent {
			return refuse(CodeConflict, placeZHName(kind)+" %q 已绑定到代理 %q", kind+" %q is already bound to agent %q", code, agent)
		}
		var bound any
		if agent != "" {
			bound = agent
		}
		now := store.FormatTime(r.now())
		if err := endBinding(ctx, tx, kind, code, old, since, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET agent_id = ?, agent_since = ? WHERE id = ?`, bound, now, id); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: kind + ".bind", Subject: fmt.Sprintf("%s:%d", kind, id),
			Before: map[string]string{"code": code, "agent": old}, After: map[string]string{"code": code, "agent": agent}})
	}))
}

func placeZHName(kind string) string {
	if kind == PlaceDesk {
		return "工作台"
	}
	return "密码柜"
}

// placeUnit is the unit a new cabinet or desk belongs to: the one named, or the custodian's own.
// A custodian sets up places only for the units they are custodian for; an administrator must
// name the unit.
func (r *Register) placeUnit(ctx context.Context, tx *store.Tx, a Actor, code string, what custody.Text) (sql.NullInt64, string, error) {
	if code == "" {
		if !a.Has(custody.Custodian) {
			return sql.NullInt64{}, "", refuseT(CodeInvalid, what.ZH+" 须指定所属单位（unit）", what.EN+" needs its unit (unit)")
		}
		me, err := loadPerson(ctx, tx, "p.id = ?", a.ID)
		if err != nil {
			return sql.NullInt64{}, "", err
		}
		return me.UnitID, me.Unit, nil
	}
	id, err := r.unitID(ctx, tx, code)
	if err != nil {
		return sql.NullInt64{}, "", err
	}
	if a.Has(custody.Custodian) {
		if err := withinCustody(ctx, tx, a.ID, nullID(id), what); err != nil {
			return sql.NullInt64{}, "", err
		}
	}
	return nullID(id), code, nil
}
