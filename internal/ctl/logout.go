package ctl

import (
	"context"
	"fmt"
	"os"
)

// logoutArgs are the arguments of custodyctl logout.
type logoutArgs struct{}

func init() {
	add(define[logoutArgs]("logout", "",
		"log out: the saved token stops working at once and is removed"))
}

func (*logoutArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := c.call(ctx, "POST", "/api/v1/logout", nil, nil); err != nil {
		return err
	}
	if err := os.Remove(c.tokenPath()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("remove the saved token: %w", err)
	}
	fmt.Fprintln(c.Stdout, c.say("已注销", "logged out"))
	return nil
}
