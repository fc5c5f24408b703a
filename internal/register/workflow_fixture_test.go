package register_test

import (
	"cmp"
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// The desk fixture: an office (BGS) with two custodians, a leader, two readers and an auditor,
// another unit (KJC) with a reader, badges with PINs, a cabinet and two desks. Accounts cost an
// argon2id hash each (slow under -race), so the fixture is built once and every test starts from
// its own copy of the database file.
var (
	templateOnce sync.Once
	templatePath string
	templateErr  error
)

const pin = "246810"

type desk struct {
	st  *store.Store
	reg *register.Register
	// people by username
	p map[string]register.Actor
	// clock for due times and expiry; tests move it
	now time.Time
}

type deskPerson struct {
	user, name, unit string
	roles            []custody.Role
}

var deskPeople = []deskPerson{
	{"wang.fang", "王芳", "BGS", []custody.Role{custody.Custodian}},
	{"li.na", "李娜", "BGS", []custody.Role{custody.Custodian}},
	{"liu.qiang", "刘强", "BGS", []custody.Role{custody.Leader}},
	{"zhang.wei", "张伟", "BGS", []custody.Role{custody.Holder}},
	{"chen.jing", "陈静", "BGS", []custody.Role{custody.Holder}},
	{"zhao.lei", "赵磊", "BGS", []custody.Role{custody.Auditor}},
	{"sec.admin", "钱安", "BGS", []custody.Role{custody.SecAdmin}},
	{"sun.li", "孙丽", "KJC", []custody.Role{custody.Holder, custody.Leader}},
}

func badge(user string) string { return "BADGE-" + user }

func buildTemplate(dir string) (string, error) {
	ctx := context.Background()
	path, err := storetest.Fresh(dir)
	if err != nil {
		return "", err
	}
	st, err := store.Open(ctx, path, nil)
	if err != nil {
		return "", err
	}
	defer st.Close()
	reg := register.New(st, nil)
	if _, err := reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		return "", err
	}
	_, admin, err := reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	if err != nil {
		return "", err
	}
	for _, u := range []register.Unit{{Code: "BGS", Name: "办公室"}, {Code: "KJC", Name: "科技处"}} {
		if _, err := reg.AddUnit(ctx, admin, u); err != nil {
			return "", err
		}
	}
	// The 三员 set the office up: the administrator creates the accounts (the first security
	// administrator and auditor with their role), the security administrator grants the business
	// roles and the approval authority, each person chooses their own badge PIN.
	var custodian, secadmin register.Actor
	ordered := slices.Clone(deskPeople)
	slices.SortStableFunc(ordered, func(a, b deskPerson) int { // the security administrator first
		first := func(p deskPerson) int {
			if p.roles[0] == custody.SecAdmin {
				return 0
			}
			return 1
		}
		return cmp.Compare(first(a), first(b))
	})
	for _, p := range ordered {
		var three []custody.Role
		for _, r := range p.roles {
			if r.ThreeMember() {
				three = append(three, r)
			}
		}
		added, _, err := reg.AddPerson(ctx, admin, register.NewPerson{Username: p.user, Name: p.name, Unit: p.unit, Roles: three, Password: p.user + "-password"})
		if err != nil {
			return "", err
		}
		for _, r := range p.roles {
			if !r.ThreeMember() {
				if added, err = reg.Grant(ctx, secadmin, register.GrantRequest{Username: p.user, Role: r}); err != nil {
					return "", err
				}
			}
		}
		if err := reg.IssueBadge(ctx, admin, p.user, badge(p.user)); err != nil {
			return "", err
		}
		self := register.Actor{ID: added.ID, Username: added.Username, Roles: added.Roles}
		if err := reg.SetBadgePIN(ctx, self, "", pin); err != nil {
			return "", err
		}
		switch p.user {
		case "wang.fang":
			custodian = self
		case "sec.admin":
			secadmin = self
		}
	}
	for _, g := range []register.GrantRequest{
		{Username: "liu.qiang", Grant: register.GrantPrincipal, Unit: "BGS"},
		{Username: "liu.qiang", Grant: register.GrantSecrecy, Unit: "BGS"},
		{Username: "sun.li", Grant: register.GrantPrincipal, Unit: "KJC"},
	} {
		if _, err := reg.Grant(ctx, secadmin, g); err != nil {
			return "", err
		}
	}
	if _, err := reg.AddCabinet(ctx, custodian, register.Cabinet{Code: "C-01", Name: "一号柜", Room: "R301", Unit: "BGS"}); err != nil {
		return "", err
	}
	for _, d := range []register.Desk{{Code: "D-01", Name: "机要室工作台", Room: "R301"}, {Code: "D-02", Name: "二号工作台", Room: "R302"}} {
		if _, err := reg.AddDesk(ctx, custodian, d); err != nil {
			return "", err
		}
	}
	return path, nil
}

// newDesk copies the template register into the test's own (storetest.Clone) and opens it.
func newDesk(t testing.TB) *desk {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := mkTemplateDir()
		if err != nil {
			templateErr = err
			return
		}
		templatePath, templateErr = buildTemplate(dir)
	})
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, storetest.Clone(t, templatePath), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := &desk{st: st, reg: register.New(st, nil), p: map[string]register.Actor{}, now: time.Now()}
	d.reg.SetClock(func() time.Time { return d.now })
	people, err := d.reg.People(ctx, register.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		d.p[p.Username] = register.Actor{ID: p.ID, Username: p.Username, Roles: p.Roles}
	}
	return d
}

// receive registers a document with copies in C-01 and returns their ids.
func (d *desk) receive(t testing.TB, number string, level custody.Level, copies int, scope ...string) []int64 {
	t.Helper()
	doc := register.Document{Number: number, Title: "关于" + number + "的绝密标题", IssuingUnit: "BGS", Level: level, IssuedOn: "2026-11-01", SecrecyTerm: "10年", Copies: copies, ScopeUnits: scope}
	_, items, err := d.reg.Receive(context.Background(), d.p["wang.fang"], register.ReceiveRequest{Document: doc, Cabinet: "C-01", From: "市委机要局"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	return ids
}

func (d *desk) item(t testing.TB, id int64) register.Item {
	t.Helper()
	it, err := d.reg.Item(context.Background(), d.p["wang.fang"], id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// handover runs a whole session at D-01 by wang.fang and returns the closed session.
func (d *desk) handover(t testing.TB, req register.OpenRequest, counterpart string, items []int64) register.Session {
	t.Helper()
	ctx := context.Background()
	if req.Desk == "" {
		req.Desk = "D-01"
	}
	s, err := d.reg.OpenSession(ctx, d.p["wang.fang"], req)
	if err != nil {
		t.Fatalf("open %s: %v", req.Purpose, err)
	}
	if _, err := d.reg.Scan(ctx, d.p["wang.fang"], s.ID, badge(counterpart)); err != nil {
		t.Fatalf("scan badge of %s: %v", counterpart, err)
	}
	for _, id := range items {
		if _, err := d.reg.Scan(ctx, d.p["wang.fang"], s.ID, itoa(id)); err != nil {
			t.Fatalf("scan item %d: %v", id, err)
		}
	}
	closed, err := d.reg.CloseSession(ctx, d.p["wang.fang"], s.ID, register.CloseRequest{PIN: pin})
	if err != nil {
		t.Fatalf("close %s: %v", req.Purpose, err)
	}
	return closed
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// The template lives in one directory for the whole test binary, removed by TestMain.
var templateDir string

func mkTemplateDir() (string, error) {
	var err error
	templateDir, err = os.MkdirTemp("", "custody-register-template-")
	return templateDir, err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if templateDir != "" {
		os.RemoveAll(templateDir)
	}
	os.Exit(code)
}

// refused checks that err is a register refusal with the code and that both its zh-CN and
// English texts contain the given fragments.
func refused(t testing.TB, err error, code, zh, en string) {
	t.Helper()
	var re *register.Error
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a refusal %s (%s)", err, code, zh)
	}
	if re.Code != code || !strings.Contains(re.Text.ZH, zh) || !strings.Contains(re.Text.EN, en) {
		t.Fatalf("got refusal %s %q / %q, want %s containing %q / %q", re.Code, re.Text.ZH, re.Text.EN, code, zh, en)
	}
}

func ids(n ...int64) []int64 { return n }
