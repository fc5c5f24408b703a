package ctl

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/epcis"
	"github.com/custodyhq/custody/internal/epcis/epcistest"
	"github.com/custodyhq/custody/internal/register"
)

// custodyctl epcis export against a real custodyd API: the file is an EPCIS 2.0 document that
// passes the EPCIS schemas (epcistest), carries the received copies' GDTIs and no title or number; --from/--to
// are read in the site zone; a bad time is refused in words; the auditor and a leader may
// export, the administrator is refused and the refusal audited.
func TestEPCISExportCommand(t *testing.T) {
	ctx := context.Background()
	st, reg, _, admin := newRegister(t)
	reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345"})
	type who = struct {
		user, name string
		role       custody.Role
	}
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室"}); err != nil {
		t.Fatal(err)
	}
	addPeople(t, reg, admin, "BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"liu.qiang", "刘强", custody.Leader}, who{"zhao.lei", "赵磊", custody.Auditor})
	tokens := map[string]string{}
	for _, u := range []string{"wang.fang", "liu.qiang", "zhao.lei"} {
		tok, _, err := reg.Login(ctx, u, u+"-password", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		tokens[u] = tok
	}
	tokens["admin"], _, _ = reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{EPCIS: epcisOptions()}).Handler())
	defer srv.Close()
	as := func(user string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		c := &CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"CUSTODY_SERVER": srv.URL, "CUSTODY_TOKEN": tokens[user]}[k]
		}}
		return c.Run(ctx, args), out.String(), errb.String()
	}
	if code, out, errOut := as("wang.fang", "cabinet", "add", "C-01", "一号柜"); code != ExitOK {
		t.Fatalf("cabinet add: %d %s%s", code, out, errOut)
	}
	if code, out, errOut := as("wang.fang", "document", "receive", "--number", "京办〔2026〕9号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "2", "--cabinet", "C-01", "--from", "市委机要局"); code != ExitOK {
		t.Fatalf("document receive: %d %s%s", code, out, errOut)
	}

	file := filepath.Join(t.TempDir(), "events.jsonld")
	today := time.Now().In(reg.Zone().Location()).Format("2006-01-02")
	if code, out, errOut := as("zhao.lei", "epcis", "export", "--from", today, "-o", file); code != ExitOK {
		t.Fatalf("epcis export: exit %d %s%s", code, out, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	epcistest.Validate(t, b)
	for _, want := range []string{`"type":"EPCISDocument"`, "urn:epc:id:gdti:0614141.12345.1", "urn:epc:id:gdti:0614141.12345.2", `"bizStep":"commissioning"`, `"bizStep":"storing"`,
		"https://custody.example.gov.cn/epcis/cabinet/C-01", `"eventTimeZoneOffset":"+08:00"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("export lacks %q:\n%s", want, b)
		}
	}
	for _, leak := range []string{"关于年终检查的通知", "京办", "机密", "secret", "王芳", "wang.fang"} {
		if bytes.Contains(b, []byte(leak)) {
			t.Errorf("export carries %q:\n%s", leak, b)
		}
	}
	// Tomorrow on: nothing yet, still a valid document. To stdout, as the leader.
	tomorrow := time.Now().In(reg.Zone().Location()).AddDate(0, 0, 1).Format("2006-01-02")
	code, out, errOut := as("liu.qiang", "epcis", "export", "--from", tomorrow)
	if code != ExitOK || strings.Contains(out, "ObjectEvent") {
		t.Fatalf("export from tomorrow: exit %d %s%s, want an empty document", code, out, errOut)
	}
	epcistest.Validate(t, []byte(out))
	if code, _, errOut := as("zhao.lei", "epcis", "export", "--from", "昨天"); code == ExitOK || !strings.Contains(errOut, "格式不对") {
		t.Errorf("a bad --from: got exit %d %q, want a refusal naming the format", code, errOut)
	}
	refusals := func() int {
		var n int
		st.DB().QueryRow(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'admin'`).Scan(&n)
		return n
	}
	before := refusals()
	if code, _, errOut := as("admin", "epcis", "export", "-o", filepath.Join(t.TempDir(), "x")); code != ExitAuth || !strings.Contains(errOut, "无权访问") {
		t.Errorf("the administrator's export: got exit %d %q, want %d 无权访问", code, errOut, ExitAuth)
	}
	if refusals() != before+1 {
		t.Error("the administrator's refused export was not audited")
	}
}

func epcisOptions() epcis.Options {
	return epcis.Options{CompanyPrefix: "0614141", BaseURI: "https://custody.example.gov.cn"}
}
