package ctl

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/register"
)

// TestProgressOnlyAtATerminal: labels for forty copies, an audit export, a ledger export and a
// backup download print exactly what they printed before progress bars existed when stderr is
// not a terminal (a pipe, a file, CI), and when stdout is one but stderr is not; at a real
// pseudo-terminal a bar appears on stderr and the files and stdout are the same bytes; --json
// keeps the terminal free of bars.
func TestProgressOnlyAtATerminal(t *testing.T) {
	ctx := context.Background()
	st, reg, adminToken, admin := newRegister(t)
	reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室"}); err != nil {
		t.Fatal(err)
	}
	type who = struct {
		user, name string
		role       custody.Role
	}
	sec := addPeople(t, reg, admin, "BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"shen.ji", "沈计", custody.Auditor})
	if _, err := reg.Grant(ctx, sec, register.GrantRequest{Username: "admin", Grant: register.GrantBackup}); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{"admin": adminToken}
	for _, u := range []string{"wang.fang", "shen.ji"} {
		var err error
		if tokens[u], _, err = reg.Login(ctx, u, u+"-password", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
	defer srv.Close()
	dir := t.TempDir()

	// run is one custodyctl invocation with the given stdout and stderr; a bar, if any, shows
	// at once (progressAfter < 0) so that the test needs no second-long work.
	run := func(user string, stdout, stderr io.Writer, args ...string) int {
		t.Helper()
		c := &CLI{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: stderr, progressAfter: -1, Getenv: func(k string) string {
			return map[string]string{"CUSTODY_SERVER": srv.URL, "CUSTODY_TOKEN": tokens[user]}[k]
		}}
		return c.Run(ctx, args)
	}
	plain := func(user string, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(user, &out, &errb, args...); code != ExitOK {
			t.Fatalf("custodyctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	// atTerminal runs with a real pseudo-terminal as stderr (or stdout) and returns what the
	// terminal showed and what the other stream got.
	atTerminal := func(ttyIsStdout bool, user string, args ...string) (shown, other string) {
		t.Helper()
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptmx.Close()
		read := make(chan []byte)
		go func() { b, _ := io.ReadAll(ptmx); read <- b }()
		var buf bytes.Buffer
		stdout, stderr := io.Writer(&buf), io.Writer(tty)
		if ttyIsStdout {
			stdout, stderr = tty, &buf
		}
		code := run(user, stdout, stderr, args...)
		tty.Close() // the reader sees the end of the terminal's output
		b := <-read
		if code != ExitOK {
			t.Fatalf("custodyctl %s at a terminal: exit %d\n%s%s", strings.Join(args, " "), code, b, buf.String())
		}
		return string(b), buf.String()
	}

	plain("wang.fang", "cabinet", "add", "C-01", "一号柜", "--unit", "BGS")
	plain("wang.fang", "document", "receive", "--number", "京办〔2026〕30号", "--title", "关于年终检查的通知", "--unit", "BGS", "--level", "机密",
		"--date", "2026-11-01", "--term", "10年", "--copies", "40", "--cabinet", "C-01", "--from", "市委机要局")
	labelsDir := filepath.Join("..", "..", "labels")

	// Not a terminal: today's bytes, exactly.
	zplPlain := filepath.Join(dir, "plain.zpl")
	if out, errOut := plain("wang.fang", "labels", "print", "--document", "京办〔2026〕30号", "--format", "zpl", "-o", zplPlain, "--labels-dir", labelsDir); out != "" || errOut != "已生成 40 张标签\n" {
		t.Errorf("labels print, not a terminal: got stdout %q stderr %q, want only 已生成 40 张标签", out, errOut)
	}
	if out, errOut := plain("wang.fang", "labels", "print", "1", "2", "3", "--format", "tspl", "-o", filepath.Join(dir, "three.tspl"), "--labels-dir", labelsDir); out != "" || errOut != "已生成 3 张标签\n" {
		t.Errorf("labels print of three items, not a terminal: got stdout %q stderr %q", out, errOut)
	}
	csvDirect := get(t, srv.URL+"/api/v1/reports/ledger?format=csv", tokens["wang.fang"])
	if out, errOut := plain("wang.fang", "report", "ledger", "--format", "csv"); out != csvDirect || errOut != "" {
		t.Errorf("report ledger --format csv, not a terminal: got stderr %q and stdout equal to the API's: %v", errOut, out == csvDirect)
	}
	auditPlain, errOut := plain("shen.ji", "audit", "export")
	if errOut != "" || !strings.HasPrefix(auditPlain, `{"`) || !strings.HasSuffix(auditPlain, "}\n") {
		t.Errorf("audit export, not a terminal: got stderr %q, stdout %.80q…; want JSON lines only", errOut, auditPlain)
	}
	backupPlain := filepath.Join(dir, "plain.db")
	if out, errOut := plain("admin", "backup", "-o", backupPlain); out != "" || errOut != "备份已写入 "+backupPlain+"\n" {
		t.Errorf("backup, not a terminal: got stdout %q stderr %q", out, errOut)
	}

	// stdout a terminal, stderr not: still no bar anywhere.
	shown, errOut := atTerminal(true, "wang.fang", "labels", "print", "--document", "京办〔2026〕30号", "--format", "zpl", "-o", filepath.Join(dir, "stdout-tty.zpl"), "--labels-dir", labelsDir)
	if shown != "" || errOut != "已生成 40 张标签\n" {
		t.Errorf("labels print with only stdout a terminal: terminal showed %q, stderr %q", shown, errOut)
	}

	// stderr a terminal: a bar, and the same bytes where they go.
	zplTTY := filepath.Join(dir, "tty.zpl")
	shown, out := atTerminal(false, "wang.fang", "labels", "print", "--document", "京办〔2026〕30号", "--format", "zpl", "-o", zplTTY, "--labels-dir", labelsDir)
	if !strings.Contains(shown, "生成标签") || !strings.HasSuffix(shown, "已生成 40 张标签\r\n") || out != "" {
		t.Errorf("labels print at a terminal: terminal showed %q, stdout %q; want a bar, then 已生成 40 张标签", shown, out)
	}
	if a, b := readFile(t, zplPlain), readFile(t, zplTTY); a != b {
		t.Error("labels print wrote different ZPL at a terminal")
	}
	shown, out = atTerminal(false, "wang.fang", "report", "ledger", "--format", "csv")
	if out != csvDirect || !strings.Contains(shown, "下载") {
		t.Errorf("report ledger at a terminal: terminal showed %q; stdout equal to the API's: %v", shown, out == csvDirect)
	}
	shown, out = atTerminal(false, "shen.ji", "audit", "export")
	if !strings.HasPrefix(out, auditPlain) || !strings.Contains(shown, "导出审计链") {
		t.Errorf("audit export at a terminal: terminal showed %q; the earlier export a prefix of this one: %v", shown, strings.HasPrefix(out, auditPlain))
	}
	backupTTY := filepath.Join(dir, "tty.db")
	shown, _ = atTerminal(false, "admin", "backup", "-o", backupTTY)
	if !strings.Contains(shown, "下载备份") || !strings.HasSuffix(shown, "备份已写入 "+backupTTY+"\r\n") {
		t.Errorf("backup at a terminal: terminal showed %q", shown)
	}
	if fi, err := os.Stat(backupTTY); err != nil || fi.Size() == 0 {
		t.Errorf("backup at a terminal: %v, want the file", err)
	}

	// --json: the terminal shows no bar.
	shown, _ = atTerminal(false, "wang.fang", "--json", "labels", "print", "--document", "京办〔2026〕30号", "--format", "zpl", "-o", filepath.Join(dir, "json.zpl"), "--labels-dir", labelsDir)
	if shown != "已生成 40 张标签\r\n" {
		t.Errorf("labels print --json at a terminal: terminal showed %q, want only 已生成 40 张标签", shown)
	}
}

func get(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProgressWaitsBeforeShowing: work shorter than the delay (a second in use, 200 ms here)
// leaves the terminal untouched; longer work gets a bar, removed when done.
func TestProgressWaitsBeforeShowing(t *testing.T) {
	for _, tc := range []struct {
		work time.Duration
		bar  bool
	}{{20 * time.Millisecond, false}, {600 * time.Millisecond, true}} {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		read := make(chan []byte)
		go func() { b, _ := io.ReadAll(ptmx); read <- b }()
		c := &CLI{Stderr: tty, lang: "en", progressAfter: 200 * time.Millisecond, Getenv: func(string) string { return "" }}
		p := c.startProgress(10, false, "生成标签", "rendering labels")
		for i := 1; i <= 10; i++ {
			time.Sleep(tc.work / 10)
			p.Set(int64(i))
		}
		p.Done()
		p.Done() // twice is harmless
		tty.Close()
		shown := string(<-read)
		ptmx.Close()
		if got := strings.Contains(shown, "rendering labels"); got != tc.bar {
			t.Errorf("work of %v: terminal showed %q; want a bar: %v", tc.work, shown, tc.bar)
		}
	}
}
