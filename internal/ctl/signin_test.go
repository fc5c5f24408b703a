package ctl

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// custodyctl signin list and signin revoke (issue 21 point 10): the security administrator sees
// who is signed in through what, in Chinese first, and ends one sign-in or all of a person's;
// everyone else, the system administrator included, is refused (exit 3), nothing ends, and the
// refusal is audited.
func TestSignInCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := newOffice(t, register.Unit{Code: "BGS", Name: "办公室"})
	o.add("BGS", who{"wang.fang", "王芳", custody.Custodian}, who{"zhao.lei", "赵磊", custody.Auditor})
	if _, _, err := o.reg.ConsoleLoginFrom(ctx, "10.1.2.3", "wang.fang", "wang.fang-password", time.Hour); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := o.st.DB().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	out := o.ok("sec.admin", "", "signin", "list", "--user", "wang.fang")
	for _, w := range []string{"编号", "最近活动", "王芳", "控制台", "命令行", "10.1.2.3"} {
		if !strings.Contains(out, w) {
			t.Errorf("signin list: %q lacks %q", out, w)
		}
	}
	ss, err := o.reg.SignIns(ctx, o.sec, "wang.fang")
	if err != nil {
		t.Fatal(err)
	}
	var console int64
	for _, s := range ss {
		if s.Client == register.ClientConsole {
			console = s.ID
		}
	}
	for _, user := range []string{"admin", "wang.fang", "zhao.lei"} {
		for _, args := range [][]string{{"signin", "list"}, {"signin", "revoke", strconv.FormatInt(console, 10)}, {"signin", "revoke", "--user", "wang.fang"}} {
			before, audited := count(`SELECT count(*) FROM tokens`), count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '`+user+`'`)
			code, _, errOut := o.run(user, "", args...)
			if code != ExitAuth || !strings.Contains(errOut, "安全保密管理员") {
				t.Errorf("custodyctl %s as %s: exit %d %q, want %d naming the security administrator", strings.Join(args, " "), user, code, errOut, ExitAuth)
			}
			if after := count(`SELECT count(*) FROM tokens`); after != before {
				t.Errorf("custodyctl %s as %s: sign-ins went from %d to %d", strings.Join(args, " "), user, before, after)
			}
			if n := count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = '` + user + `'`); n != audited+1 {
				t.Errorf("custodyctl %s as %s: %d refusal records, want 1", strings.Join(args, " "), user, n-audited)
			}
		}
	}
	if out := o.ok("sec.admin", "", "signin", "revoke", strconv.FormatInt(console, 10)); !strings.Contains(out, "已强制下线 wang.fang 的 1 个登录会话") {
		t.Errorf("signin revoke ID: got %q", out)
	}
	if code, _, errOut := o.run("sec.admin", "", "signin", "revoke", strconv.FormatInt(console, 10)); code != ExitNotFound {
		t.Errorf("ending it again: exit %d %q, want %d", code, errOut, ExitNotFound)
	}
	if out := o.ok("sec.admin", "", "signin", "revoke", "--user", "wang.fang"); !strings.Contains(out, "已强制下线 wang.fang 的 1 个登录会话") {
		t.Errorf("signin revoke --user: got %q", out)
	}
	if code, _, _ := o.run("wang.fang", "", "person", "list"); code != ExitAuth {
		t.Errorf("wang.fang's command line after her sign-ins were ended: exit %d, want %d", code, ExitAuth)
	}
	if n := count(`SELECT count(*) FROM audit WHERE action = 'person.signout' AND actor = 'sec.admin'`); n != 2 {
		t.Errorf("person.signout records: got %d, want 2", n)
	}
	if code, _, _ := o.run("sec.admin", "", "signin", "revoke"); code != ExitUsage {
		t.Errorf("signin revoke without an id: exit %d, want %d", code, ExitUsage)
	}
}
