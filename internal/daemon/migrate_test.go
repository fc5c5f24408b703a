package daemon

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// custodyd migrate moves a SQLite register into an empty PostgreSQL database: every table's rows,
// the audit chain with the same head, the numbering carried on (a copy added afterwards takes
// the next id) — and custodyd then serves it from PostgreSQL. It refuses while custodyd runs on
// the data directory, refuses a target that holds anything (writing nothing), and refuses a
// data directory with no register rather than "moving" an empty one.
func TestMigrateMovesTheRegisterToPostgreSQL(t *testing.T) {
	ctx := context.Background()
	cfg := Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen, cfg.MQTT.Listen = "127.0.0.1:0", "127.0.0.1:0"

	target := storetest.Database(t, "TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'")
	var out bytes.Buffer
	if err := Migrate(ctx, cfg, target, &out); err == nil || !strings.Contains(err.Error(), "no register") {
		t.Fatalf("migrate from an empty data directory: %v; want a refusal", err)
	}

	// A register with people, a document's copies in a cabinet and an agent's observation.
	src, err := store.Open(ctx, filepath.Join(cfg.DataDir, "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := register.New(src, nil)
	if _, err := reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	_, admin, err := reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室"}))
	p, _, err := reg.AddPerson(ctx, admin, register.NewPerson{Username: "sec.admin", Name: "钱安", Unit: "BGS", Roles: []custody.Role{custody.SecAdmin}, Password: "sec.admin-password"})
	must(p, err)
	_, sec, err := reg.Login(ctx, "sec.admin", "sec.admin-password", time.Hour)
	must(sec, err)
	must(nil, func() error {
		_, _, err := reg.AddPerson(ctx, admin, register.NewPerson{Username: "wang.fang", Name: "王芳", Unit: "BGS", Password: "wang.fang-password"})
		return err
	}())
	must(reg.Grant(ctx, sec, register.GrantRequest{Username: "wang.fang", Role: custody.Custodian}))
	_, clerk, err := reg.Login(ctx, "wang.fang", "wang.fang-password", time.Hour)
	must(clerk, err)
	must(nil, reg.ChangePassword(ctx, clerk, "wang.fang-password", "wang.fang-own-password"))
	must(reg.AddCabinet(ctx, clerk, register.Cabinet{Code: "C-01", Name: "一号柜", Room: "R301"}))
	_, items, err := reg.RegisterDocument(ctx, clerk, register.Document{Number: "国保〔2026〕12号", Title: "关于年度保密检查的通知", IssuingUnit: "BGS",
		Level: custody.Secret, IssuedOn: "2026-11-20", SecrecyTerm: "10年", Copies: 3})
	must(items, err)
	must(reg.StoreItems(ctx, clerk, "C-01", []int64{items[0].ID, items[1].ID, items[2].ID}))
	if _, _, err := reg.EnrollAgent(ctx, admin, "agent-301"); err != nil {
		t.Fatal(err)
	}
	_, _, err = src.StoreObservations(ctx, []store.Observation{{Agent: "agent-301", Seq: 1, ID: "obs-1", Boot: "b1", V: "1.3",
		At: store.Now(), Kind: "door", Body: []byte(`{"cabinet":"C-01","state":"open"}`), MAC: "mac"}})
	must(nil, err)
	srcSeq, srcHead := src.AuditHead()
	src.Close()

	// Refused while custodyd runs on the data directory.
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, cfg, target, &out); err == nil || !strings.Contains(err.Error(), "running custodyd") {
		t.Errorf("migrate while custodyd runs: %v; want a refusal", err)
	}
	lock.Close()

	out.Reset()
	if err := Migrate(ctx, cfg, target, &out); err != nil {
		t.Fatalf("migrate: %v\n%s", err, &out)
	}
	for _, want := range []string{"迁移完成", "两边行数一致", "审计链一致", srcHead, "items", "audit"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("migrate said:\n%s\nwant %q in it", &out, want)
		}
	}

	// The target now holds the register: a second move into it is refused and writes nothing.
	dst, err := store.Open(ctx, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if seq, head := dst.AuditHead(); seq != srcSeq || head != srcHead {
		t.Errorf("target's audit head %d %s; want the source's %d %s", seq, head, srcSeq, srcHead)
	}
	dst.Close()
	err = Migrate(ctx, cfg, target, &out)
	if !errors.Is(err, store.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "items") {
		t.Errorf("second migrate into the same database: %v; want ErrTargetNotEmpty naming the tables", err)
	}

	// custodyd serves the moved register from PostgreSQL: the same password, the same copies in
	// their cabinet, and a new document numbered after the moved ones.
	pg := Default()
	pg.DataDir, pg.Store.URL = t.TempDir(), target
	pg.HTTP.Listen, pg.MQTT.Listen = "127.0.0.1:0", "127.0.0.1:0"
	addr := startDaemon(t, pg)
	var login token
	if code := call(t, addr, "", "POST", "/api/v1/login", `{"username":"wang.fang","password":"wang.fang-own-password"}`, &login); code != 200 {
		t.Fatalf("login on the moved register: %d", code)
	}
	var listed []struct {
		ID      int64  `json:"id"`
		Cabinet string `json:"cabinet"`
	}
	if code := call(t, addr, login.Token, "GET", "/api/v1/items?cabinet=C-01", "", &listed); code != 200 || len(listed) != 3 {
		t.Fatalf("copies in C-01 on the moved register: %d %+v; want the 3 moved", code, listed)
	}
	var doc struct {
		Document struct{ ID int64 } `json:"document"`
		Items    []struct{ ID int64 }
	}
	code := call(t, addr, login.Token, "POST", "/api/v1/documents", `{"number":"国保〔2026〕13号","title":"新文件","issuing_unit":"BGS","level":"secret","issued_on":"2026-11-21","secrecy_term":"10年","copies":1}`, &doc)
	if code != 201 || len(doc.Items) != 1 || doc.Items[0].ID <= items[2].ID {
		t.Errorf("register a document after the move: %d %+v; want a copy numbered after %d", code, doc, items[2].ID)
	}
}
