package ctl

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// signinRevokeArgs are the arguments of custodyctl signin revoke.
type signinRevokeArgs struct {
	user string
}

func init() {
	add(define[signinRevokeArgs]("signin revoke", "[ID] [--user USERNAME]",
		"end one sign-in (its id from signin list), or with --user every sign-in of a person (强制下线; security administrator only, audited)"))
}

func (a *signinRevokeArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.user, "user", "", "end every sign-in of this person, console and command line alike")
}

func (a *signinRevokeArgs) run(ctx context.Context, c *CLI, args []string) error {
	var out apitype.Revoked
	switch {
	case a.user != "" && len(args) == 0:
		if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(a.user)+"/signout", nil, &out); err != nil {
			return err
		}
	case a.user == "" && len(args) == 1:
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return exitf(ExitUsage, c.say("登录会话编号 %q 无效", "sign-in id %q is not a positive number"), args[0])
		}
		if err := c.call(ctx, "POST", "/api/v1/signins/"+strconv.FormatInt(id, 10)+"/revoke", nil, &out); err != nil {
			return err
		}
	default:
		return exitf(ExitUsage, "%s", c.say("请给出一个登录会话编号，或 --user 用户名", "give one sign-in id, or --user USERNAME"))
	}
	if c.json {
		return c.output(out, nil)
	}
	fmt.Fprintln(c.Stdout, c.say(fmt.Sprintf("已强制下线 %s 的 %d 个登录会话", out.Username, out.Count), fmt.Sprintf("ended %d sign-ins of %s", out.Count, out.Username)))
	return nil
}
