package ctl

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// addPeople sets accounts up as the 三员 do: the administrator creates them (the first security
// administrator and auditor with their role), the security administrator ("sec.admin", created
// here when missing) grants the business roles, and each person replaces the one-time password
// with user-password.
func addPeople(t testing.TB, reg *register.Register, admin register.Actor, unit string, people ...struct {
	user, name string
	role       custody.Role
}) register.Actor {
	t.Helper()
	ctx := context.Background()
	ps, err := reg.People(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	var sec register.Actor
	for _, p := range ps {
		if p.Username == "sec.admin" {
			sec = register.Actor{ID: p.ID, Username: p.Username, Roles: p.Roles}
		}
	}
	if sec.ID == 0 {
		p, _, err := reg.AddPerson(ctx, admin, register.NewPerson{Username: "sec.admin", Name: "钱安", Unit: unit, Roles: []custody.Role{custody.SecAdmin}, Password: "sec.admin-initial"})
		if err != nil {
			t.Fatal(err)
		}
		sec = register.Actor{ID: p.ID, Username: p.Username, Roles: p.Roles}
		if err := reg.ChangePassword(ctx, sec, "sec.admin-initial", "sec.admin-password"); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range people {
		np := register.NewPerson{Username: p.user, Name: p.name, Unit: unit, Password: p.user + "-initial"}
		if p.role.ThreeMember() {
			np.Roles = []custody.Role{p.role}
		}
		added, _, err := reg.AddPerson(ctx, admin, np)
		if err != nil {
			t.Fatal(err)
		}
		if !p.role.ThreeMember() {
			if _, err := reg.Grant(ctx, sec, register.GrantRequest{Username: p.user, Role: p.role}); err != nil {
				t.Fatal(err)
			}
		}
		if err := reg.ChangePassword(ctx, register.Actor{ID: added.ID, Username: added.Username}, p.user+"-initial", p.user+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	return sec
}
