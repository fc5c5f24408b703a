// Package custody is the vocabulary of the register: secrecy levels, roles, item states and the
// lifecycle of a numbered copy as a pure transition function.
//
// Contract: nothing here does I/O or reads the clock. Check says, for an item's state, an action
// and the actor's role, whether the step is allowed and, if not, why — in words for people (zh-CN
// and English) and a stable code for programs. The rules that need more context than state, action
// and role (approvals, readership scope, the two-person rule) live in package register, which calls
// Check first.
package custody

import "fmt"

// Text is people-facing text in the two locales the product speaks. zh-CN is the default.
type Text struct {
	ZH string
	EN string
}

// In returns the text for a locale tag ("zh", "zh-CN", "en", "en-US"); anything else gets zh-CN.
func (t Text) In(locale string) string {
	if len(locale) >= 2 && (locale[:2] == "en" || locale[:2] == "EN") {
		return t.EN
	}
	return t.ZH
}

// Level is a secrecy level (密级), highest first.
type Level string

const (
	TopSecret    Level = "top-secret"   // 绝密
	Secret       Level = "secret"       // 机密
	Confidential Level = "confidential" // 秘密
)

// Levels lists the levels from highest to lowest.
var Levels = []Level{TopSecret, Secret, Confidential}

var levelText = map[Level]Text{
	TopSecret:    {"绝密", "Top secret"},
	Secret:       {"机密", "Secret"},
	Confidential: {"秘密", "Confidential"},
}

// ParseLevel accepts the identifier or the Chinese name.
func ParseLevel(s string) (Level, error) {
	for l, t := range levelText {
		if s == string(l) || s == t.ZH {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown secrecy level %q (want top-secret/绝密, secret/机密 or confidential/秘密)", s)
}

// Text returns the display names of the level.
func (l Level) Text() Text { return levelText[l] }

// Rank orders levels: 3 for top-secret down to 1 for confidential, 0 for an unknown level.
func (l Level) Rank() int {
	switch l {
	case TopSecret:
		return 3
	case Secret:
		return 2
	case Confidential:
		return 1
	}
	return 0
}

// Role is what a person may do. The first three are the 三员, mutually exclusive on one person
// and blind to document titles.
type Role string

const (
	Admin     Role = "admin"     // 系统管理员
	SecAdmin  Role = "secadmin"  // 安全保密管理员
	Auditor   Role = "auditor"   // 安全审计员
	Custodian Role = "custodian" // 机要员
	Leader    Role = "leader"    // 领导
	Holder    Role = "holder"    // 阅文人
)

// Roles lists every role.
var Roles = []Role{Admin, SecAdmin, Auditor, Custodian, Leader, Holder}

var roleText = map[Role]Text{
	Admin:     {"系统管理员", "System administrator"},
	SecAdmin:  {"安全保密管理员", "Security administrator"},
	Auditor:   {"安全审计员", "Security auditor"},
	Custodian: {"机要员", "Custodian"},
	Leader:    {"领导", "Leader"},
	Holder:    {"阅文人", "Reader"},
}

// ParseRole accepts the identifier or the Chinese name.
func ParseRole(s string) (Role, error) {
	for r, t := range roleText {
		if s == string(r) || s == t.ZH {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want admin, secadmin, auditor, custodian, leader or holder)", s)
}

// Text returns the display names of the role.
func (r Role) Text() Text { return roleText[r] }

// ThreeMember reports whether the role is one of the 三员 (admin, secadmin, auditor).
func (r Role) ThreeMember() bool { return r == Admin || r == SecAdmin || r == Auditor }

// CheckRoles enforces the separation of the 三员: one person holds at most one of them, and none of
// them together with a role that handles documents (a 三员 must stay blind to content).
func CheckRoles(roles []Role) error {
	var three []Role
	seen := map[Role]bool{}
	for _, r := range roles {
		if _, ok := roleText[r]; !ok {
			return fmt.Errorf("unknown role %q", r)
		}
		if seen[r] {
			return fmt.Errorf("role %q given twice", r)
		}
		seen[r] = true
		if r.ThreeMember() {
			three = append(three, r)
		}
	}
	if len(roles) == 0 {
		return fmt.Errorf("a person needs at least one role")
	}
	if len(three) > 1 {
		return fmt.Errorf("roles %q and %q are 三员 and may not be held by one person", three[0], three[1])
	}
	if len(three) == 1 && len(roles) > 1 {
		return fmt.Errorf("role %q is one of the 三员 and may not be combined with document roles", three[0])
	}
	return nil
}
