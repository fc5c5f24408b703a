package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/epc"
)

var bin string // directory with the built programs

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "custody-e2e-")
	if err != nil {
		panic(err)
	}
	bin = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../../cmd/custodyd", "../../cmd/custodyctl")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type daemon struct {
	cmd  *exec.Cmd
	addr string
	out  *bytes.Buffer
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startDaemon runs custodyd on dataDir and waits for /healthz.
func startDaemon(t testing.TB, dataDir string) *daemon {
	t.Helper()
	return startDaemonWith(t, dataDir, "[mqtt]\nlisten = \"127.0.0.1:0\"\n[identity]\ncompany_prefix = \"0614141\"\n")
}

// startDaemonWith is startDaemon with more of the configuration: tables after data_dir and [http].
func startDaemonWith(t testing.TB, dataDir, tables string) *daemon {
	t.Helper()
	return startDaemonEnv(t, dataDir, tables)
}

// startDaemonEnv is startDaemonWith with extra environment variables (TZ=…).
func startDaemonEnv(t testing.TB, dataDir, tables string, env ...string) *daemon {
	t.Helper()
	addr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "custodyd.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir = %q\n[http]\nlisten = %q\n%s", dataDir, addr, tables)), 0o600)
	d := &daemon{cmd: exec.Command(filepath.Join(bin, "custodyd"), "-config", cfg), addr: addr, out: &bytes.Buffer{}}
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.Env = append(append(os.Environ(), "CUSTODY_ADMIN_PASSWORD=admin-walkthrough-1"), env...)
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill(); d.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("custodyd did not become healthy:\n%s", d.out)
	return nil
}

func (d *daemon) stop(t testing.TB) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("custodyd exited with %v after SIGTERM:\n%s", err, d.out)
		}
		if !strings.Contains(d.out.String(), "custodyd stopped") {
			t.Errorf("no shutdown log line:\n%s", d.out)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("custodyd did not stop within 15 s of SIGTERM")
	}
}

type ctl struct {
	t      testing.TB
	server string
	home   string
	env    []string // more environment (TZ=…); later entries win
}

// run executes custodyctl and returns stdout, stderr and the exit status.
func (c ctl) run(stdin string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(bin, "custodyctl"), args...)
	cmd.Env = append(os.Environ(), "CUSTODY_SERVER=http://"+c.server, "XDG_CONFIG_HOME="+c.home, "CUSTODY_LANG=zh-CN")
	cmd.Env = append(cmd.Env, c.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (c ctl) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("custodyctl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// The README's five-minute walk-through, with the programs a newcomer runs.
func TestReadmeWalkThrough(t *testing.T) {
	data := t.TempDir()
	d := startDaemon(t, data)
	c := ctl{t: t, server: d.addr, home: t.TempDir()}

	c.ok("admin-walkthrough-1\n", "login", "--user", "admin", "--password-stdin")
	c.ok("", "unit", "add", "BGS", "办公室")
	// 三员: the administrator creates accounts; only the first security administrator and
	// auditor get their role from him. Business roles come from the security administrator.
	c.ok("", "person", "add", "qian.an", "钱安", "--unit", "BGS", "--role", "secadmin", "--password", "qian.an-initial")
	c.ok("", "person", "add", "wang.fang", "王芳", "--unit", "BGS", "--password", "wang.fang-initial")
	c.ok("", "person", "add", "zhao.lei", "赵磊", "--unit", "BGS", "--role", "auditor", "--password", "zhao.lei-initial")
	if _, errs, code := c.run("", "person", "add", "ma.li", "马丽", "--unit", "BGS", "--role", "leader"); code != 3 || !strings.Contains(errs, "由安全保密管理员授予") {
		t.Errorf("admin giving a business role: exit %d %q, want 3 naming the security administrator", code, errs)
	}
	// A person created without a password gets a one-time password that must be changed first.
	out := c.ok("", "person", "add", "sun.li", "孙丽", "--unit", "BGS")
	m := regexp.MustCompile(`一次性密码（仅显示一次）\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("person add printed no one-time password:\n%s", out)
	}
	c.ok("qian.an-initial\n", "login", "--user", "qian.an", "--password-stdin")
	c.ok("qian.an-initial\nqian.an-secret\n", "passwd")
	c.ok("", "person", "grant", "wang.fang", "--role", "custodian")
	c.ok("", "person", "grant", "sun.li", "--role", "leader")
	c.ok("", "person", "grant", "admin", "--grant", "backup")
	leader := ctl{t: t, server: d.addr, home: t.TempDir()}
	leader.ok(m[1]+"\n", "login", "--user", "sun.li", "--password-stdin")
	if _, errs, code := leader.run("", "item", "list"); code != 3 || !strings.Contains(errs, "custodyctl passwd") {
		t.Errorf("with the one-time password: exit %d %q, want 3 telling to run custodyctl passwd", code, errs)
	}
	leader.ok(m[1]+"\nsun.li-own-password\n", "passwd")
	leader.ok("", "item", "list")

	c.ok("admin-walkthrough-1\n", "login", "--user", "admin", "--password-stdin")
	out = c.ok("", "agent", "enroll", "room-301")
	if !regexp.MustCompile(`[A-Za-z0-9+/]{43}=`).MatchString(out) {
		t.Errorf("agent enroll printed no key:\n%s", out)
	}

	c.ok("wang.fang-initial\n", "login", "--user", "wang.fang", "--password-stdin")
	c.ok("wang.fang-initial\nwang.fang-secret\n", "passwd")
	c.ok("", "cabinet", "add", "C-01", "一号柜", "--room", "R301", "--agent", "room-301")
	out = c.ok("", "document", "register", "--number", "国保〔2026〕12号", "--title", "关于年度保密检查的通知",
		"--unit", "BGS", "--level", "机密", "--date", "2026-11-20", "--term", "10年", "--copies", "3")
	if !strings.Contains(out, "共 3 份") || strings.Count(out, "已登记") < 3 {
		t.Errorf("register output:\n%s", out)
	}
	c.ok("", "item", "store", "1", "2", "3", "--cabinet", "C-01")

	// Labels for the three copies: a PDF a person prints, and ZPL sent to a "printer" on TCP.
	pdf := filepath.Join(t.TempDir(), "labels.pdf")
	c.ok("", "labels", "print", "--document", "国保〔2026〕12号", "--labels-dir", "../../labels", "-o", pdf)
	if b, err := os.ReadFile(pdf); err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Errorf("labels.pdf: %v, starts %q", err, b[:min(len(b), 8)])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	job := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(conn)
		conn.Close()
		job <- b
	}()
	c.ok("", "labels", "print", "1", "--labels-dir", "../../labels", "--printer", ln.Addr().String())
	ln.Close()
	select {
	case b := <-job:
		// Item 1's EPC as the installation issues it: company prefix 0614141, serial = item id.
		want, err := epc.Issuer{CompanyPrefix: "0614141", DocumentType: "00001"}.ForItem(1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("^RFW,H")) || !bytes.Contains(b, []byte(want.Hex())) {
			t.Errorf("the printer got no RFID encoding of item 1's EPC %s:\n%s", want.Hex(), b)
		}
		// The label is marked as the papers are: level with its term (issue 14 point 9).
		if !bytes.Contains(b, []byte("^FD机密★10年^FS")) {
			t.Errorf("the printer got no mark 机密★10年:\n%s", b)
		}
	case <-time.After(10 * time.Second):
		t.Error("the printer received nothing")
	}
	out = c.ok("", "item", "list", "--cabinet", "C-01")
	if strings.Count(out, "在柜") != 3 || !strings.Contains(out, "3/3") {
		t.Errorf("item list after storing:\n%s", out)
	}
	// Storing again is refused by the lifecycle with exit status 5 and a reason.
	_, errs, code := c.run("", "item", "store", "1", "--cabinet", "C-01")
	if code != 5 || !strings.Contains(errs, "在柜") {
		t.Errorf("storing twice: exit %d, %q; want 5 with the reason", code, errs)
	}
	// The custodian cannot read the audit log: exit 3.
	if _, _, code := c.run("", "audit", "export"); code != 3 {
		t.Errorf("custodian exporting the audit log: exit %d, want 3", code)
	}

	c.ok("zhao.lei-initial\n", "login", "--user", "zhao.lei", "--password-stdin")
	c.ok("zhao.lei-initial\nzhao.lei-secret\n", "passwd")
	export := filepath.Join(t.TempDir(), "audit.jsonl")
	c.ok("", "audit", "export", "-o", export)
	out = c.ok("", "audit", "verify", export)
	if !strings.Contains(out, "审计链完整") {
		t.Errorf("verify of an intact export:\n%s", out)
	}
	b, _ := os.ReadFile(export)
	if bytes.Contains(b, []byte("年度保密检查")) {
		t.Error("the export read by the auditor carries the document title")
	}
	// Edit one byte of record 9 and verify names it.
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) < 10 {
		t.Fatalf("export has %d records, want at least 10", len(lines))
	}
	i := bytes.Index(lines[8], []byte(`"actor":"`)) + len(`"actor":"`)
	lines[8][i] ^= 0x01
	os.WriteFile(export, append(bytes.Join(lines, []byte("\n")), '\n'), 0o600)
	_, errs, code = c.run("", "audit", "verify", export)
	if code != 7 || !strings.Contains(errs, "第 9 条记录") || !strings.Contains(errs, "被篡改") {
		t.Errorf("verify of an edited export: exit %d %q, want 7 naming record 9 as altered", code, errs)
	}

	// A backup taken while custodyd runs is a register custodyd starts from.
	c.ok("admin-walkthrough-1\n", "login", "--user", "admin", "--password-stdin")
	backup := filepath.Join(t.TempDir(), "backup.db")
	c.ok("", "backup", "-o", backup)
	d.stop(t)

	restored := t.TempDir()
	os.Rename(backup, filepath.Join(restored, "custody.db"))
	d2 := startDaemon(t, restored)
	c2 := ctl{t: t, server: d2.addr, home: t.TempDir()}
	c2.ok("wang.fang-secret\n", "login", "--user", "wang.fang", "--password-stdin")
	if out := c2.ok("", "item", "list", "--json"); strings.Count(out, `"in_cabinet"`) != 3 {
		t.Errorf("restored register:\n%s", out)
	}
	d2.stop(t)
}

func TestUnreachableServerExitStatus(t *testing.T) {
	c := ctl{t: t, server: freeAddr(t), home: t.TempDir()}
	_, errs, code := c.run("", "unit", "list")
	if code != 6 || !strings.Contains(errs, "无法连接 custodyd") {
		t.Errorf("got exit %d %q, want 6 with an explanation", code, errs)
	}
	if _, _, code := c.run("", "no-such-command"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
}

// custodian sets up a custodian's account as the 三员 do, through custodyctl: the administrator
// (c, logged in) creates the first security administrator qian.an and the account, qian.an
// grants the custodian role, and the custodian replaces the one-time password with user-secret.
// c stays logged in as the administrator.
func (c ctl) custodian(user, name, unit string) {
	c.t.Helper()
	c.ok("", "person", "add", "qian.an", "钱安", "--unit", unit, "--role", "secadmin", "--password", "qian.an-initial")
	c.ok("", "person", "add", user, name, "--unit", unit, "--password", user+"-initial")
	sec := ctl{t: c.t, server: c.server, home: c.t.TempDir(), env: c.env}
	sec.ok("qian.an-initial\n", "login", "--user", "qian.an", "--password-stdin")
	sec.ok("qian.an-initial\nqian.an-secret\n", "passwd")
	sec.ok("", "person", "grant", user, "--role", "custodian")
	p := ctl{t: c.t, server: c.server, home: c.t.TempDir(), env: c.env}
	p.ok(user+"-initial\n", "login", "--user", user, "--password-stdin")
	p.ok(user+"-initial\n"+user+"-secret\n", "passwd")
}
