package ctl

import (
	"context"
	"fmt"
)

// passwdArgs are the arguments of custodyctl passwd.
type passwdArgs struct{}

func init() {
	add(define[passwdArgs]("passwd", "",
		"change my password (at a terminal: the current one, then the new one twice; or two lines of stdin)"))
}

func (*passwdArgs) run(ctx context.Context, c *CLI, args []string) error {
	old, err := c.password(false, "当前密码：", "Current password: ")
	if err != nil {
		return err
	}
	nw, err := c.password(false, "新密码（至少 10 个字符）：", "New password (at least 10 characters): ")
	if err != nil {
		return err
	}
	if c.interactive() { // typed unseen, so typed twice
		again, err := c.password(false, "再次输入新密码：", "New password again: ")
		if err != nil {
			return err
		}
		if again != nw {
			return exitf(ExitUsage, "%s", c.say("两次输入的新密码不一致，密码未修改", "the two new passwords differ; the password is unchanged"))
		}
	}
	if err := c.call(ctx, "POST", "/api/v1/me/password", map[string]string{"old": old, "new": nw}, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("密码已修改", "password changed"))
	return nil
}
