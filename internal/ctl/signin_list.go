package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// signinListArgs are the arguments of custodyctl signin list.
type signinListArgs struct {
	user string
}

func init() {
	add(define[signinListArgs]("signin list", "",
		"live sign-ins (登录会话): console sessions and command-line tokens, who, since, last seen, from where (security administrator only); --user USERNAME"))
}

func (a *signinListArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.user, "user", "", "only this person's sign-ins")
}

func (a *signinListArgs) run(ctx context.Context, c *CLI, args []string) error {
	path := "/api/v1/signins"
	if a.user != "" {
		path += "?user=" + url.QueryEscape(a.user)
	}
	var ss []apitype.SignIn
	if err := c.call(ctx, "GET", path, nil, &ss); err != nil {
		return err
	}
	return c.output(ss, func(w io.Writer) {
		fmt.Fprintln(w, c.say("编号\t用户名\t姓名\t方式\t登录时间\t最近活动\t最近地址\t到期时间", "ID\tUSERNAME\tNAME\tTHROUGH\tSINCE\tLAST SEEN\tADDRESS\tEXPIRES"))
		for _, s := range ss {
			through := c.say("命令行", "command line")
			if s.Client == apitype.ClientConsole {
				through = c.say("控制台", "console")
			}
			remote := s.Remote
			if remote == "" {
				remote = c.say("未知", "unknown")
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Username, s.Name, through, c.when(s.Since), c.when(s.SeenAt), remote, c.when(s.Expires))
		}
	})
}
