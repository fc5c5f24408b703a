package register_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Issue 13's scenario: a new office is set up by three different people — the system
// administrator creates the accounts, the security administrator grants the roles and the
// approval authority, the people choose their own passwords and PINs — and nobody can complete
// a 绝密 carry-out without the principal leader: not the administrator, not the security
// administrator, not a deputy leader, not the custodian, not the reader.
func TestNewOfficeTopSecretCarryOutNeedsThePrincipalLeader(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.Target(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reg := register.New(st, nil)
	if _, err := reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	_, admin, err := reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "ZB", Name: "总部"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室", Parent: "ZB"}); err != nil {
		t.Fatal(err)
	}

	// 1. The administrator creates the accounts; only the security administrator gets her role.
	oneTime := map[string]string{}
	for _, p := range []struct {
		user, name string
		roles      []custody.Role
	}{{"qian.an", "钱安", []custody.Role{custody.SecAdmin}}, {"wang.fang", "王芳", nil}, {"li.na", "李娜", nil}, {"liu.qiang", "刘强", nil},
		{"ma.li", "马丽", nil}, {"zhang.wei", "张伟", nil}, {"chen.jing", "陈静", nil}} {
		_, pw, err := reg.AddPerson(ctx, admin, register.NewPerson{Username: p.user, Name: p.name, Unit: "BGS", Roles: p.roles})
		if err != nil {
			t.Fatal(err)
		}
		oneTime[p.user] = pw
		if err := reg.IssueBadge(ctx, admin, p.user, "B-"+p.user); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = reg.AddPerson(ctx, admin, register.NewPerson{Username: "fake", Name: "假", Unit: "BGS", Roles: []custody.Role{custody.Leader}})
	refused(t, err, register.CodeForbidden, "系统管理员不能授予角色", "cannot grant the role")

	// Each person signs in with the one-time password, must change it, then chooses a PIN.
	people := map[string]register.Actor{}
	signIn := func(user string) register.Actor {
		t.Helper()
		tok, a, err := reg.Login(ctx, user, oneTime[user], time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if a, err = reg.Authenticate(ctx, tok); err != nil || !a.MustChangePassword {
			t.Fatalf("%s with the one-time password: must change %v (%v), want true", user, a.MustChangePassword, err)
		}
		if err := reg.ChangePassword(ctx, a, oneTime[user], user+"-own-password"); err != nil {
			t.Fatal(err)
		}
		if a, err = reg.Authenticate(ctx, tok); err != nil || a.MustChangePassword {
			t.Fatalf("%s after the change: must change %v (%v)", user, a.MustChangePassword, err)
		}
		return a
	}
	sec := signIn("qian.an")

	// 2. The security administrator grants the roles and the principal leader's authority.
	for _, g := range []register.GrantRequest{
		{Username: "wang.fang", Role: custody.Custodian}, {Username: "li.na", Role: custody.Custodian},
		{Username: "liu.qiang", Role: custody.Leader}, {Username: "ma.li", Role: custody.Leader},
		{Username: "zhang.wei", Role: custody.Holder}, {Username: "chen.jing", Role: custody.Holder},
		{Username: "liu.qiang", Grant: register.GrantPrincipal, Unit: "BGS"},
	} {
		if _, err := reg.Grant(ctx, sec, g); err != nil {
			t.Fatalf("grant %+v: %v", g, err)
		}
	}
	_, err = reg.Grant(ctx, admin, register.GrantRequest{Username: "ma.li", Grant: register.GrantPrincipal, Unit: "BGS"})
	refused(t, err, register.CodeForbidden, "只有安全保密管理员可以", "only secadmin")
	for _, u := range []string{"wang.fang", "li.na", "liu.qiang", "ma.li", "zhang.wei", "chen.jing"} {
		people[u] = signIn(u)
		if err := reg.SetBadgePIN(ctx, people[u], "", "2580"); err != nil {
			t.Fatal(err)
		}
	}
	var grants int
	st.DB().QueryRow(`SELECT count(*) FROM audit WHERE actor = 'qian.an' AND action IN ('role.give','grant.give')`).Scan(&grants)
	if grants != 7 {
		t.Errorf("got %d grant audit records by qian.an, want 7", grants)
	}

	wf := people["wang.fang"]
	if _, err := reg.AddCabinet(ctx, wf, register.Cabinet{Code: "C-01", Name: "一号柜"}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.AddDesk(ctx, wf, register.Desk{Code: "D-01", Name: "工作台"}); err != nil {
		t.Fatal(err)
	}
	_, items, err := reg.Receive(ctx, wf, register.ReceiveRequest{Cabinet: "C-01", From: "市委机要局", Document: register.Document{
		Number: "国保〔2026〕99号", Title: "绝密文件", IssuingUnit: "BGS", Level: custody.TopSecret, IssuedOn: "2026-11-01", SecrecyTerm: "30年", Copies: 1}})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(6 * time.Hour).Format(time.RFC3339)
	req := register.ApprovalRequest{Kind: register.ApproveTakeOut, For: "zhang.wei", Items: []int64{items[0].ID}, Due: due, Reason: "赴市委汇报"}

	// 3. A 绝密 carry-out needs two named persons.
	_, err = reg.RequestApproval(ctx, wf, req)
	refused(t, err, register.CodeRefused, "携带绝密文件外出须两人同行", "two named persons")
	req.With = "chen.jing"
	ap, err := reg.RequestApproval(ctx, wf, req)
	if err != nil {
		t.Fatal(err)
	}
	if ap.Decider != register.DecidePrincipal || ap.Unit != "BGS" {
		t.Fatalf("got decider %s of %s, want BGS's principal leader", ap.Decider, ap.Unit)
	}
	// Nobody but the principal leader decides it.
	for _, who := range []register.Actor{admin, sec, people["ma.li"], wf, people["li.na"], people["zhang.wei"], people["chen.jing"]} {
		_, err := reg.Decide(ctx, who, ap.ID, true, "")
		refused(t, err, register.CodeForbidden, "须由 BGS 的单位主要领导决定", "the unit's principal leader")
	}
	// Undecided, the carry-out cannot even start.
	_, err = reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTakeOut, Approval: ap.ID})
	refused(t, err, register.CodeRefused, "尚未批准", "not been approved")
	if _, err := reg.Decide(ctx, people["liu.qiang"], ap.ID, true, "同意，注意保密"); err != nil {
		t.Fatal(err)
	}

	// 4. At the desk both named persons sign, and two custodians are present.
	s, err := reg.OpenSession(ctx, wf, register.OpenRequest{Desk: "D-01", Purpose: register.PurposeTakeOut, Approval: ap.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"B-zhang.wei", itoa(items[0].ID)} {
		if _, err := reg.Scan(ctx, wf, s.ID, code); err != nil {
			t.Fatal(err)
		}
	}
	_, err = reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "2580", SecondBadge: "B-li.na", SecondPIN: "2580"})
	refused(t, err, register.CodeRefused, "同行人须刷工作证并输入 PIN", "the second one scans a badge")
	_, err = reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "2580", SecondBadge: "B-li.na", SecondPIN: "2580", CompanionBadge: "B-ma.li", CompanionPIN: "2580"})
	refused(t, err, register.CodeForbidden, "不是审批", "not the second person")
	_, err = reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "2580", CompanionBadge: "B-chen.jing", CompanionPIN: "2580"})
	refused(t, err, register.CodeRefused, "两名机要员", "two custodians")
	if it, _ := reg.Item(ctx, wf, items[0].ID); it.State != custody.InCabinet {
		t.Fatalf("after the refusals: item %s, want still in its cabinet", it.State)
	}
	done, err := reg.CloseSession(ctx, wf, s.ID, register.CloseRequest{PIN: "2580", SecondBadge: "B-li.na", SecondPIN: "2580", CompanionBadge: "B-chen.jing", CompanionPIN: "2580"})
	if err != nil {
		t.Fatal(err)
	}
	if done.Items[0].State != custody.OutOfOffice || len(done.Signatures) != 3 {
		t.Fatalf("got %s with signatures %+v, want out of office signed by zhang.wei, chen.jing and li.na", done.Items[0].State, done.Signatures)
	}
	for i, want := range []struct{ part, user, badge string }{{"counterpart", "zhang.wei", "B-zhang.wei"}, {"companion", "chen.jing", "B-chen.jing"}, {"second_custodian", "li.na", "B-li.na"}} {
		if sg := done.Signatures[i]; sg.Part != want.part || sg.Username != want.user || sg.Badge != want.badge || sg.Desk != "D-01" || sg.At == "" {
			t.Errorf("signature %d: got %+v, want %s %s with %s at D-01", i, sg, want.part, want.user, want.badge)
		}
	}
}
