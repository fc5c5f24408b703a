package ctl

import (
	"context"
	"fmt"
	"net/url"
)

// personPostArgs are the arguments of custodyctl person post.
type personPostArgs struct{}

func init() {
	add(define[personPostArgs]("person post", "USERNAME UNIT",
		"move a person to another unit (refused while they hold anything)"))
}

func (*personPostArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "USERNAME UNIT"); err != nil {
		return err
	}
	if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(args[0])+"/post", map[string]string{"unit": args[1]}, nil); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say(args[0]+" 已调至 "+args[1], args[0]+" moved to "+args[1]))
	return nil
}
