package register_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

type fixture struct {
	st        *store.Store
	reg       *register.Register
	admin     register.Actor
	secadmin  register.Actor
	custodian register.Actor
	auditor   register.Actor
}

func open(t testing.TB, path string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, reg: register.New(st, nil)}
	if _, err := f.reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	_, f.admin, err = f.reg.Login(ctx, "admin", "admin-password-1", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AddUnit(ctx, f.admin, register.Unit{Code: "BGS", Name: "办公室"}); err != nil {
		t.Fatal(err)
	}
	f.secadmin = f.person(t, "sec.admin", custody.SecAdmin)
	f.custodian = f.person(t, "wang.fang", custody.Custodian)
	f.auditor = f.person(t, "zhao.lei", custody.Auditor)
	if _, err := f.reg.AddCabinet(ctx, f.custodian, register.Cabinet{Code: "C-01", Name: "一号柜", Room: "R301"}); err != nil {
		t.Fatal(err)
	}
	return f
}

// person creates an account as the 三员 do it: the administrator creates it (with its role only
// for the first security administrator and auditor), the security administrator grants the
// business roles.
func (f *fixture) person(t testing.TB, username string, roles ...custody.Role) register.Actor {
	t.Helper()
	ctx := context.Background()
	var three []custody.Role
	for _, r := range roles {
		if r.ThreeMember() {
			three = append(three, r)
		}
	}
	p, _, err := f.reg.AddPerson(ctx, f.admin, register.NewPerson{Username: username, Name: username, Unit: "BGS", Roles: three, Password: username + "-password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if !r.ThreeMember() {
			if p, err = f.reg.Grant(ctx, f.secadmin, register.GrantRequest{Username: username, Role: r}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return register.Actor{ID: p.ID, Username: p.Username, Roles: p.Roles}
}

func doc(number string, copies int) register.Document {
	return register.Document{Number: number, Title: "关于加强保密管理的通知", IssuingUnit: "BGS", Level: custody.Secret, IssuedOn: "2026-11-01", SecrecyTerm: "10年", Copies: copies}
}

func code(err error) string {
	var re *register.Error
	if errors.As(err, &re) {
		return re.Code
	}
	return fmt.Sprintf("not a register error: %v", err)
}

func count(t testing.TB, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegisterDocumentCreatesNumberedCopies(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	_, items, err := f.reg.RegisterDocument(ctx, f.custodian, doc("国保〔2026〕12号", 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 {
		t.Fatalf("got %d items, want 3", len(items))
	}
	for i, it := range items {
		if it.Copy != i+1 || it.State != custody.Registered {
			t.Errorf("item %d: got copy %d state %s, want copy %d registered", i, it.Copy, it.State, i+1)
		}
	}
	stored, err := f.reg.StoreItems(ctx, f.custodian, "C-01", []int64{items[0].ID, items[1].ID, items[2].ID})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.reg.Items(ctx, f.custodian, register.ItemFilter{Cabinet: "C-01"})
	if len(stored) != 3 || len(got) != 3 || got[2].State != custody.InCabinet {
		t.Errorf("got %d stored, %d in C-01 (%+v), want 3 in_cabinet", len(stored), len(got), got)
	}
	res, err := f.st.VerifyAudit(ctx)
	if err != nil {
		t.Fatalf("audit chain after the walk-through: %v", err)
	}
	// bootstrap, login, unit, 2 people, cabinet, 2 logins for fixture? count what we know: the
	// registration is one record and each stored item one more.
	var storeRecs int
	f.st.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'item.store'`).Scan(&storeRecs)
	if storeRecs != 3 || res.Records < 7 {
		t.Errorf("got %d item.store records of %d, want 3 of at least 7", storeRecs, res.Records)
	}
}

func TestBadDocumentsWriteNothing(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	if _, _, err := f.reg.RegisterDocument(ctx, f.custodian, doc("国保〔2026〕1号", 2)); err != nil {
		t.Fatal(err)
	}
	docs, items, audits := count(t, f.st, "documents"), count(t, f.st, "items"), count(t, f.st, "audit")
	bad := map[string]struct {
		d    register.Document
		want string
		text string
	}{
		"zero copies":      {doc("A-0", 0), register.CodeInvalid, "copies must be between 1 and 10000, got 0"},
		"100 000 copies":   {doc("A-1", 100000), register.CodeInvalid, "got 100000"},
		"duplicate number": {doc("国保〔2026〕1号", 2), register.CodeConflict, "already registered"},
		"unknown level":    {func() register.Document { d := doc("A-2", 1); d.Level = "internal"; return d }(), register.CodeInvalid, "secrecy level"},
		"bad date":         {func() register.Document { d := doc("A-3", 1); d.IssuedOn = "2026/11/01"; return d }(), register.CodeInvalid, "YYYY-MM-DD"},
		"unknown unit":     {func() register.Document { d := doc("A-4", 1); d.IssuingUnit = "XXX"; return d }(), register.CodeNotFound, `unit "XXX"`},
		"unknown reader":   {func() register.Document { d := doc("A-5", 4); d.ScopePeople = []string{"nobody"}; return d }(), register.CodeNotFound, `person "nobody"`},
	}
	for name, c := range bad {
		_, _, err := f.reg.RegisterDocument(ctx, f.custodian, c.d)
		if code(err) != c.want || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: got %v (%s), want %s mentioning %q", name, err, code(err), c.want, c.text)
		}
	}
	if d, i, a := count(t, f.st, "documents"), count(t, f.st, "items"), count(t, f.st, "audit"); d != docs || i != items || a != audits {
		t.Errorf("refused registrations left traces: documents %d→%d, items %d→%d, audit %d→%d", docs, d, items, i, audits, a)
	}
}

func TestOnlyCustodiansMoveItems(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	_, items, err := f.reg.RegisterDocument(ctx, f.custodian, doc("D-1", 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.reg.RegisterDocument(ctx, f.admin, doc("D-2", 1)); code(err) != register.CodeForbidden {
		t.Errorf("admin registering a document: got %v, want forbidden", err)
	}
	leader := f.person(t, "li.ming", custody.Leader)
	if _, err := f.reg.StoreItems(ctx, leader, "C-01", []int64{items[0].ID}); code(err) != register.CodeForbidden {
		t.Errorf("leader storing: got %v, want forbidden", err)
	}
	if _, err := f.reg.StoreItems(ctx, f.custodian, "C-01", []int64{items[0].ID}); err != nil {
		t.Fatal(err)
	}
	// The second item is fine but the first is already stored: all or nothing.
	_, err = f.reg.StoreItems(ctx, f.custodian, "C-01", []int64{items[1].ID, items[0].ID})
	if code(err) != register.CodeRefused || !strings.Contains(err.Error(), "cannot store an item that is In cabinet") {
		t.Errorf("storing twice: got %v, want refused (wrong state)", err)
	}
	if it, _ := f.reg.Item(ctx, f.custodian, items[1].ID); it.State != custody.Registered {
		t.Errorf("item 2 after a refused batch: got %s, want registered (nothing half-written)", it.State)
	}
	if _, err := f.reg.StoreItems(ctx, f.custodian, "C-99", []int64{items[1].ID}); code(err) != register.CodeNotFound {
		t.Errorf("unknown cabinet: got %v, want not_found", err)
	}
}

func TestThreeMembersSeeNoTitles(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	if _, _, err := f.reg.RegisterDocument(ctx, f.custodian, doc("T-1", 1)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []register.Actor{f.admin, f.auditor} {
		docs, err := f.reg.Documents(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if docs[0].Title != "" || docs[0].TitleVisible {
			t.Errorf("%s sees title %q, want it redacted", a.Username, docs[0].Title)
		}
	}
	docs, _ := f.reg.Documents(ctx, f.custodian)
	if docs[0].Title != "关于加强保密管理的通知" {
		t.Errorf("custodian: got title %q, want it shown", docs[0].Title)
	}
	var leaks int
	f.st.DB().QueryRow(`SELECT count(*) FROM audit WHERE after LIKE '%保密管理%' OR before LIKE '%保密管理%'`).Scan(&leaks)
	if leaks != 0 {
		t.Errorf("the audit log (read by the auditor) carries the title in %d records", leaks)
	}
}

func TestThreeMemberRolesRefused(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	for _, r := range []custody.Role{custody.Admin, custody.Custodian} {
		_, err := f.reg.Grant(ctx, f.secadmin, register.GrantRequest{Username: "zhao.lei", Role: r})
		if code(err) != register.CodeRefused || !strings.Contains(err.Error(), "三员") {
			t.Errorf("%s for the auditor: got %v, want refused naming 三员", r, err)
		}
	}
	if got := f.person(t, "x"); len(got.Roles) != 0 {
		t.Errorf("a new account: got roles %v, want none until the security administrator grants one", got.Roles)
	}
}

func TestLoginAndTokens(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	if _, _, err := f.reg.Login(ctx, "admin", "wrong-password", 3600e9); code(err) != register.CodeForbidden {
		t.Errorf("wrong password: got %v, want forbidden", err)
	}
	if _, _, err := f.reg.Login(ctx, "ghost", "whatever-password", 3600e9); !errors.Is(err, register.ErrBadLogin) {
		t.Errorf("unknown user: got %v, want the same error as a wrong password", err)
	}
	tok, _, err := f.reg.Login(ctx, "wang.fang", "wang.fang-password", 3600e9)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.reg.Authenticate(ctx, tok)
	if err != nil || a.Username != "wang.fang" || !a.Has(custody.Custodian) {
		t.Errorf("authenticate: got %+v, %v", a, err)
	}
	if _, err := f.reg.Authenticate(ctx, tok+"x"); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("forged token: got %v, want ErrBadToken", err)
	}
	expired, _, _ := f.reg.Login(ctx, "wang.fang", "wang.fang-password", -1)
	if _, err := f.reg.Authenticate(ctx, expired); !errors.Is(err, register.ErrBadToken) {
		t.Errorf("expired token: got %v, want ErrBadToken", err)
	}
}

func TestAgentEnrollAndRevoke(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	_, key, err := f.reg.EnrollAgent(ctx, f.admin, "room-301")
	if err != nil || len(key) != 32 {
		t.Fatalf("enroll: key %d bytes, %v", len(key), err)
	}
	if _, _, err := f.reg.EnrollAgent(ctx, f.admin, "room-301"); code(err) != register.CodeConflict {
		t.Errorf("enroll twice: got %v, want conflict", err)
	}
	if _, _, err := f.reg.EnrollAgent(ctx, f.admin, "room/301"); code(err) != register.CodeInvalid {
		t.Errorf("id with a topic separator: got %v, want invalid", err)
	}
	stored, revoked, err := f.st.AgentKey(ctx, "room-301")
	if err != nil || string(stored) != string(key) || revoked {
		t.Errorf("agent key: got %x revoked=%v %v", stored, revoked, err)
	}
	if err := f.reg.RevokeAgent(ctx, f.admin, "room-301"); err != nil {
		t.Fatal(err)
	}
	if _, revoked, _ := f.st.AgentKey(ctx, "room-301"); !revoked {
		t.Error("revoked agent still valid")
	}
	if _, _, err := f.st.AgentKey(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown agent: got %v, want ErrNotFound", err)
	}
	// An agent is enrolled with the installation's MAC: HMAC-SHA256 under standard, HMAC-SM3
	// once custodyd runs under the sm profile (re-enrolling a revoked agent takes the new one).
	if mac, err := f.st.AgentMACAlg(ctx, "room-301"); err != nil || mac != "hmac-sha256" {
		t.Errorf("mac under standard: got %q, %v", mac, err)
	}
	if _, err := f.st.UseProfile(ctx, cryptoprofile.SM); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.reg.EnrollAgent(ctx, f.admin, "room-301"); err != nil {
		t.Fatal(err)
	}
	if mac, err := f.st.AgentMACAlg(ctx, "room-301"); err != nil || mac != "hmac-sm3" {
		t.Errorf("mac under sm: got %q, %v; want hmac-sm3", mac, err)
	}
}

// A disk that fills up mid-way: the registration that does not fit is refused with words an
// operator understands and leaves nothing behind; what was written before stays intact. The
// disk is a real 3 MiB tmpfs — room for a migrated register (the WAL included) and a few hundred
// registrations (the test runs as root in CI, as the machine's services do).
func TestFullDiskLosesNothing(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (needs root, as in CI): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	f := open(t, filepath.Join(dir, "r.db"))
	ctx := context.Background()
	var fullErr error
	registered := 0
	for i := 0; i < 10000 && fullErr == nil; i++ {
		_, _, fullErr = f.reg.RegisterDocument(ctx, f.custodian, doc(fmt.Sprintf("F-%d", i), 50))
		if fullErr == nil {
			registered++
		}
	}
	if code(fullErr) != register.CodeFull || !strings.Contains(fullErr.Error(), "storage is full; nothing was written") {
		t.Fatalf("got %v, want storage_full", fullErr)
	}
	if registered == 0 {
		t.Fatal("the disk was full before the first registration; make the tmpfs larger")
	}
	if d, i := count(t, f.st, "documents"), count(t, f.st, "items"); d != registered || i != registered*50 {
		t.Errorf("after the full disk: %d documents and %d items, want %d and %d", d, i, registered, registered*50)
	}
	if _, err := f.st.VerifyAudit(ctx); err != nil {
		t.Errorf("audit chain after the full disk: %v", err)
	}
}
