package ctl

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// loginArgs are the arguments of custodyctl login.
type loginArgs struct {
	user          string
	passwordStdin bool
}

func init() {
	add(define[loginArgs]("login", "",
		"log in and keep the token in ~/.config/custody/token"))
}

func (a *loginArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.user, "user", "", "username")
	fs.BoolVar(&a.passwordStdin, "password-stdin", false, "read the password from standard input (for scripts)")
}

func (a *loginArgs) run(ctx context.Context, c *CLI, args []string) error {
	if a.user == "" {
		return exitf(ExitUsage, "--user is required")
	}
	pw, err := c.password(a.passwordStdin, "密码：", "Password: ")
	if err != nil {
		return err
	}
	var resp struct {
		Token   string `json:"token"`
		Expires string `json:"expires_at"`
	}
	if err := c.call(ctx, "POST", "/api/v1/login", map[string]string{"username": a.user, "password": pw}, &resp); err != nil {
		return err
	}
	path := c.tokenPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(resp.Token+"\n"), 0o600); err != nil {
		return fmt.Errorf("save token: %w", err)
	}
	fmt.Fprintln(c.Stdout, c.say("已登录，令牌有效至 "+resp.Expires, "logged in; the token is valid until "+resp.Expires))
	return nil
}
