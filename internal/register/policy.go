package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// Approval authority comes from the organisation, never from the request (issue 13). The
// approval policy says, per approval kind and secrecy level (optionally per unit), which
// authority decides; the security administrator (安全保密管理员) edits it and grants the
// authorities (a unit's principal leader, its leader in charge of secrecy work) and the business
// roles; the system administrator creates accounts but grants nothing. A request names what and
// for whom; the register fills in who decides, and nobody decides a request that concerns
// themselves — it goes to the same authority of the unit above.

// Deciders: the authority an approval policy names.
const (
	DecidePrincipal   = "principal_leader" // 单位主要领导
	DecideLeader      = "leader"           // 本单位领导
	DecideSecrecy     = "secrecy_leader"   // 分管保密工作的领导
	DecideIssuingUnit = "issuing_unit"     // 发文单位（领导）同意，记录同意文件的文号
)

var deciderText = map[string]custody.Text{
	DecidePrincipal:   {ZH: "单位主要领导", EN: "the unit's principal leader"},
	DecideLeader:      {ZH: "本单位领导", EN: "a leader of the unit"},
	DecideSecrecy:     {ZH: "分管保密工作的领导", EN: "the leader in charge of secrecy work"},
	DecideIssuingUnit: {ZH: "发文单位领导（须记录同意文件文号）", EN: "a leader of the issuing unit (recording the consent's document number)"},
}

// DeciderText is the display name of a decider.
func DeciderText(d string) custody.Text { return deciderText[d] }

// Grant kinds the security administrator gives besides roles.
const (
	GrantPrincipal = "principal_leader"
	GrantSecrecy   = "secrecy_leader"
	GrantBackup    = "backup"
)

var grantText = map[string]custody.Text{
	GrantPrincipal: {ZH: "单位主要领导", EN: "principal leader"},
	GrantSecrecy:   {ZH: "分管保密工作的领导", EN: "leader in charge of secrecy work"},
	GrantBackup:    {ZH: "备份权限", EN: "the right to take backups"},
}

var (
	manageGrants = custody.Text{ZH: "授予或撤销角色、审批权限和备份权限", EN: "grant or revoke roles, approval authority and the backup right"}
	editPolicy   = custody.Text{ZH: "修改审批规则", EN: "edit the approval policy"}
)

// The API's shapes of these records and requests are defined in apitype, which custodyctl
// shares without linking the server.
type (
	GrantRequest = apitype.GrantRequest
	PersonGrant  = apitype.PersonGrant
	PolicyRule   = apitype.PolicyRule
)

// Policy lists the approval policy. Anyone signed in may read it: people must know who decides.
func (r *Register) Policy(ctx context.Context, a Actor) ([]PolicyRule, error) {
	rows, err := r.st.DB().QueryContext(ctx, `SELECT p.kind, p.level, coalesce(u.code, ''), p.decider, p.updated_by, p.updated_at
		FROM approval_policy p LEFT JOIN units u ON u.id = p.unit_id ORDER BY p.kind, coalesce(u.code, ''), p.level`)
	if err != nil {
		return nil, storeErr("read approval policy", err)
	}
	defer rows.Close()
	out := []PolicyRule{}
	for rows.Next() {
		var p PolicyRule
		if err := rows.Scan(&p.Kind, &p.Level, &p.Unit, &p.Decider, &p.UpdatedBy, &p.UpdatedAt); err != nil {
			return nil, err
		}
		p.DeciderText = deciderText[p.Decider]
		out = append(out, p)
	}
	return out, rows.Err()
}

// SetPolicy sets one line of the approval policy (the security administrator only). Unit ""
// sets the default for every unit; a unit's own line wins over the default.
func (r *Register) SetPolicy(ctx context.Context, a Actor, p PolicyRule) (PolicyRule, error) {
	if err := need(a, editPolicy, custody.SecAdmin); err != nil {
		return PolicyRule{}, err
	}
	if _, ok := approvalKinds[p.Kind]; !ok {
		return PolicyRule{}, refuse(CodeInvalid, "审批类型 %q 无效，应为 take_out、reproduce、destruction 或 scope", "approval kind %q is invalid: want take_out, reproduce, destruction or scope", p.Kind)
	}
	if p.Level != "*" {
		lvl, err := custody.ParseLevel(p.Level)
		if err != nil {
			return PolicyRule{}, refuse(CodeInvalid, "密级 %q 无效，应为 绝密、机密、秘密 或 *", "level %q is invalid: want top-secret, secret, confidential or *", p.Level)
		}
		p.Level = string(lvl)
	}
	if _, ok := deciderText[p.Decider]; !ok {
		return PolicyRule{}, refuse(CodeInvalid, "审批人 %q 无效，应为 principal_leader、leader、secrecy_leader 或 issuing_unit", "decider %q is invalid: want principal_leader, leader, secrecy_leader or issuing_unit", p.Decider)
	}
	if (p.Kind == ApproveScope) != (p.Decider == DecideIssuingUnit) {
		return PolicyRule{}, refuse(CodeInvalid, "扩大知悉范围须经发文单位同意（issuing_unit），其他审批不能由发文单位决定", "widening a scope is decided by the issuing unit (issuing_unit), and only that")
	}
	p.UpdatedBy, p.UpdatedAt, p.DeciderText = a.Username, store.FormatTime(r.now()), deciderText[p.Decider]
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var unit sql.NullInt64
		if p.Unit != "" {
			id, err := r.unitID(ctx, tx, p.Unit)
			if err != nil {
				return err
			}
			unit = nullID(id)
		}
		var before string
		err := tx.QueryRowContext(ctx, `SELECT decider FROM approval_policy WHERE kind = ? AND level = ? AND coalesce(unit_id, 0) = ?`, p.Kind, p.Level, unit.Int64).Scan(&before)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM approval_policy WHERE kind = ? AND level = ? AND coalesce(unit_id, 0) = ?`, p.Kind, p.Level, unit.Int64); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO approval_policy(kind, level, unit_id, decider, updated_by, updated_at) VALUES (?,?,?,?,?,?)`,
			p.Kind, p.Level, unit, p.Decider, p.UpdatedBy, p.UpdatedAt); err != nil {
			return err
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: "policy.set", Subject: fmt.Sprintf("policy:%s/%s/%s", p.Kind, p.Level, p.Unit),
			Before: map[string]string{"decider": before}, After: map[string]string{"decider": p.Decider}})
	})
	if err != nil {
		return PolicyRule{}, storeErr("set approval policy", err)
	}
	return p, nil
}

// policyDecider finds the decider for kind and level in unit: the unit's own line for the level,
// then its line for every level, then the same in the units above, then the defaults.
func policyDecider(ctx context.Context, tx *store.Tx, kind string, level custody.Level, unit int64) (string, error) {
	chain, err := unitChain(ctx, tx, unit)
	if err != nil {
		return "", err
	}
	for _, u := range append(chain, 0) {
		for _, l := range []string{string(level), "*"} {
			var d string
			err := tx.QueryRowContext(ctx, `SELECT decider FROM approval_policy WHERE kind = ? AND level = ? AND coalesce(unit_id, 0) = ?`, kind, l, u).Scan(&d)
			if err == nil {
				return d, nil
			} else if err != sql.ErrNoRows {
				return "", err
			}
		}
	}
	return "", refuse(CodeRefused, "审批规则中没有%s（%s）的审批人：请安全保密管理员补充审批规则", "the approval policy names nobody for %s (%s): the security administrator must complete it", approvalKinds[kind].ZH, level)
}

// unitChain is the unit and the units above it, nearest first. A loop in the tree (which
// AddUnit cannot make) stops the walk instead of spinning.
func unitChain(ctx context.Context, q querier, unit int64) ([]int64, error) {
	var chain []int64
	for u := unit; u != 0 && !slices.Contains(chain, u) && len(chain) < 32; {
		chain = append(chain, u)
		var parent sql.NullInt64
		if err := q.QueryRowContext(ctx, `SELECT parent_id FROM units WHERE id = ?`, u).Scan(&parent); err != nil {
			return nil, err
		}
		u = parent.Int64
	}
	return chain, nil
}

// qualifies reports whether the person holds the decider's authority in the unit.
func qualifies(ctx context.Context, q querier, decider string, unit int64, p personRow) (bool, error) {
	if !p.Active || !p.has(custody.Leader) {
		return false, nil
	}
	switch decider {
	case DecideLeader, DecideIssuingUnit:
		return p.UnitID.Valid && p.UnitID.Int64 == unit, nil
	case DecidePrincipal, DecideSecrecy:
		var n int
		err := q.QueryRowContext(ctx, `SELECT count(*) FROM person_grants WHERE person_id = ? AND grant_kind = ? AND unit_id = ?`, p.ID, decider, unit).Scan(&n)
		return n > 0, err
	}
	return false, nil
}

// candidates lists the people holding the decider's authority in the unit.
func candidates(ctx context.Context, tx *store.Tx, decider string, unit int64) ([]int64, error) {
	q := `SELECT p.id FROM people p JOIN person_roles r ON r.person_id = p.id AND r.role = 'leader' WHERE p.active = 1 AND p.unit_id = ?`
	args := []any{unit}
	if decider == DecidePrincipal || decider == DecideSecrecy {
		q = `SELECT p.id FROM people p JOIN person_roles r ON r.person_id = p.id AND r.role = 'leader' JOIN person_grants g ON g.person_id = p.id
			WHERE p.active = 1 AND g.grant_kind = ? AND g.unit_id = ?`
		args = []any{decider, unit}
	}
	return queryIDs(ctx, tx, q, args...)
}

// decidingUnit walks up from unit to the first unit where someone not concerned by the request
// holds the decider's authority. Nobody decides a request that concerns themselves.
func decidingUnit(ctx context.Context, tx *store.Tx, decider string, unit int64, concerned []int64) (int64, error) {
	chain, err := unitChain(ctx, tx, unit)
	if err != nil {
		return 0, err
	}
	for _, u := range chain {
		ids, err := candidates(ctx, tx, decider, u)
		if err != nil {
			return 0, err
		}
		for _, id := range ids {
			if !slices.Contains(concerned, id) {
				return u, nil
			}
		}
	}
	var code string
	if err := tx.QueryRowContext(ctx, `SELECT code FROM units WHERE id = ?`, unit).Scan(&code); err != nil {
		return 0, err
	}
	t := deciderText[decider]
	return 0, refuseT(CodeRefused,
		fmt.Sprintf("%s 及其上级单位没有可审批此申请的%s（申请人、使用人和持有人不能审批本人相关的申请）：请安全保密管理员授予审批权限", code, t.ZH),
		fmt.Sprintf("neither %s nor a unit above it has %s who could decide this request (nobody decides a request concerning themselves): the security administrator must grant the authority", code, t.EN))
}

// Grant gives a role or an authority (the security administrator only, never to themselves).
// A business role takes effect only this way; the 三员 stay separate (custody.CheckRoles).
func (r *Register) Grant(ctx context.Context, a Actor, g GrantRequest) (Person, error) {
	return r.changeGrant(ctx, a, g, true)
}

// Revoke takes a role or an authority away (the security administrator only).
func (r *Register) Revoke(ctx context.Context, a Actor, g GrantRequest) (Person, error) {
	return r.changeGrant(ctx, a, g, false)
}

func (r *Register) changeGrant(ctx context.Context, a Actor, g GrantRequest, give bool) (Person, error) {
	if err := need(a, manageGrants, custody.SecAdmin); err != nil {
		return Person{}, err
	}
	if (g.Role == "") == (g.Grant == "") {
		return Person{}, refuse(CodeInvalid, "请指定一个角色（role）或一项权限（grant），二者只能选一", "give either a role or a grant, not both")
	}
	if g.Role != "" && g.Role.Text().ZH == "" {
		return Person{}, refuse(CodeInvalid, "角色 %q 无效，应为 admin、secadmin、auditor、custodian、leader 或 holder", "role %q is invalid: want admin, secadmin, auditor, custodian, leader or holder", g.Role)
	}
	if g.Grant != "" {
		if _, ok := grantText[g.Grant]; !ok {
			return Person{}, refuse(CodeInvalid, "权限 %q 无效，应为 principal_leader、secrecy_leader 或 backup", "grant %q is invalid: want principal_leader, secrecy_leader or backup", g.Grant)
		}
		if (g.Grant == GrantBackup) != (g.Unit == "") {
			return Person{}, refuse(CodeInvalid, "主要领导和分管保密领导须指定单位（unit）；备份权限不指定单位", "principal_leader and secrecy_leader name a unit; backup names none")
		}
	}
	var p personRow
	err := r.st.Change(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = personByName(ctx, tx, g.Username); err != nil {
			return err
		}
		if p.ID == a.ID {
			return refuse(CodeForbidden, "安全保密管理员不能给本人授予或撤销角色和权限", "the security administrator cannot grant or revoke their own roles and rights")
		}
		what, action := "", ""
		if g.Role != "" {
			roles := slices.DeleteFunc(slices.Clone(p.Roles), func(x custody.Role) bool { return x == g.Role })
			if give {
				roles = append(roles, g.Role)
				if err := custody.CheckRoles(roles); err != nil {
					return &Error{Code: CodeRefused, Text: custody.Text{ZH: "角色不符合三员分立要求：" + err.Error(), EN: "roles refused: " + err.Error()}, Err: err}
				}
				if g.Role == custody.Holder || g.Role == custody.Leader || g.Role == custody.Custodian {
					if !p.UnitID.Valid {
						return refuse(CodeRefused, "%s 没有所属单位，不能授予业务角色：请系统管理员先设置其单位", "%s belongs to no unit and cannot get a business role: the system administrator sets the unit first", p.Username)
					}
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO person_roles(person_id, role) VALUES (?,?) ON CONFLICT DO NOTHING`, p.ID, g.Role)
			} else {
				_, err = tx.ExecContext(ctx, `DELETE FROM person_roles WHERE person_id = ? AND role = ?`, p.ID, g.Role)
			}
			if err != nil {
				return err
			}
			p.Roles = roles
			what, action = string(g.Role), "role."
		} else {
			var unit sql.NullInt64
			if g.Unit != "" {
				id, err := r.unitID(ctx, tx, g.Unit)
				if err != nil {
					return err
				}
				unit = nullID(id)
			}
			if give {
				if g.Grant != GrantBackup && !p.has(custody.Leader) {
					return refuse(CodeRefused, "%s 没有领导角色，不能授予%s：请先授予领导角色", "%s holds no leader role and cannot be made %s: grant the leader role first", p.Username, grantText[g.Grant].ZH)
				}
				if g.Grant == GrantBackup && !p.has(custody.Admin) {
					// Backups are the system administrator's task, granted explicitly; a person
					// who handles documents never carries the whole register away.
					return refuse(CodeRefused, "备份权限只能授予系统管理员；%s 不是系统管理员", "the backup right is granted to a system administrator only; %s is not one", p.Username)
				}
				_, err = tx.ExecContext(ctx, `INSERT INTO person_grants(person_id, grant_kind, unit_id, granted_by, granted_at) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING`,
					p.ID, g.Grant, unit, a.ID, store.FormatTime(r.now()))
			} else {
				_, err = tx.ExecContext(ctx, `DELETE FROM person_grants WHERE person_id = ? AND grant_kind = ? AND coalesce(unit_id, 0) = ?`, p.ID, g.Grant, unit.Int64)
			}
			if err != nil {
				return err
			}
			what, action = g.Grant, "grant."
		}
		if give {
			action += "give"
		} else {
			action += "revoke"
		}
		return tx.Audit(store.Entry{Actor: a.Username, Action: action, Subject: fmt.Sprintf("person:%d", p.ID),
			After: map[string]string{"person": p.Username, "what": what, "unit": g.Unit}})
	})
	if err != nil {
		return Person{}, storeErr("change grants", err)
	}
	return Person{ID: p.ID, Username: p.Username, Name: p.Name, Unit: p.Unit, Roles: p.Roles, Active: p.Active}, nil
}

// Grants lists the authorities and rights granted (the 三员 and leaders may read them).
func (r *Register) Grants(ctx context.Context, a Actor) ([]PersonGrant, error) {
	if err := need(a, custody.Text{ZH: "查看审批权限", EN: "read the granted authorities"}, custody.SecAdmin, custody.Admin, custody.Auditor, custody.Leader, custody.Custodian); err != nil {
		return nil, err
	}
	rows, err := r.st.DB().QueryContext(ctx, `SELECT p.username, g.grant_kind, coalesce(u.code, ''), gb.username, g.granted_at FROM person_grants g
		JOIN people p ON p.id = g.person_id LEFT JOIN units u ON u.id = g.unit_id JOIN people gb ON gb.id = g.granted_by ORDER BY p.username, g.grant_kind`)
	if err != nil {
		return nil, storeErr("list grants", err)
	}
	defer rows.Close()
	out := []PersonGrant{}
	for rows.Next() {
		var g PersonGrant
		if err := rows.Scan(&g.Username, &g.Grant, &g.Unit, &g.GrantedBy, &g.GrantedAt); err != nil {
			return nil, err
		}
		g.Text = grantText[g.Grant]
		out = append(out, g)
	}
	return out, rows.Err()
}

// hasGrant reports whether the person holds a right (backup).
func (r *Register) hasGrant(ctx context.Context, person int64, kind string) (bool, error) {
	var n int
	err := r.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM person_grants WHERE person_id = ? AND grant_kind = ?`, person, kind).Scan(&n)
	return n > 0, err
}

// AuditRefusal records a refused attempt in the audit chain: who tried what, and the refusal's
// code and English text (refusals name documents by number, never by title). The API and the
// console call it for every forbidden or refused request, so an inspector sees the attempts and
// not only what succeeded.
func (r *Register) AuditRefusal(ctx context.Context, a Actor, what string, err error) {
	var re *Error
	if !errors.As(err, &re) || (re.Code != CodeForbidden && re.Code != CodeRefused) || errors.Is(err, ErrBadToken) || errors.Is(err, ErrBadLogin) {
		return
	}
	actor := a.Username
	if actor == "" {
		actor = "anonymous"
	}
	werr := r.st.Change(ctx, func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: actor, Action: "refused", Subject: custody.Clip(what, 200),
			After: map[string]string{"code": re.Code, "reason": re.Text.EN}})
	})
	if werr != nil {
		r.log.Error("audit a refusal", "actor", actor, "what", what, "err", werr)
	}
}

// MayBackup refuses a backup to anyone the security administrator has not granted the right.
func (r *Register) MayBackup(ctx context.Context, a Actor) error {
	ok, err := r.hasGrant(ctx, a.ID, GrantBackup)
	if err != nil {
		return storeErr("check the backup right", err)
	}
	if !ok {
		return refuse(CodeForbidden, "您没有备份权限：备份权限由安全保密管理员授予（custodyctl person grant USER --grant backup）", "you do not hold the backup right: the security administrator grants it (custodyctl person grant USER --grant backup)")
	}
	return nil
}

// RecordBackup audits a backup taken: who, when (the record's time), the file's SHA-256 and size.
func (r *Register) RecordBackup(ctx context.Context, a Actor, sha256hex string, size int64) error {
	return storeErr("record backup", r.st.Change(ctx, func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: a.Username, Action: "backup.take", Subject: "backup",
			After: map[string]any{"sha256": sha256hex, "bytes": size, "agent_keys": "omitted; agents enrol again after a restore"}})
	}))
}
