package ctl

import (
	"context"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// personClearanceArgs are the arguments of custodyctl person clearance.
type personClearanceArgs struct{}

func init() {
	add(define[personClearanceArgs]("person clearance", "USERNAME",
		"clearance list on a change of post: everything the person holds"))
}

func (*personClearanceArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "USERNAME"); err != nil {
		return err
	}
	var cl apitype.Clearance
	if err := c.call(ctx, "GET", "/api/v1/people/"+url.PathEscape(args[0])+"/clearance", nil, &cl); err != nil {
		return err
	}
	return c.output(cl, func(w io.Writer) {
		if cl.Clear {
			line(w, c.say("%s（%s）名下没有涉密文件，可以办理离岗\n", "%s (%s) holds nothing and may leave the post\n"), cl.Name, cl.Person)
		} else {
			line(w, c.say("%s（%s）仍持有 %d 份，须全部交回：\n", "%s (%s) still holds %d items, all to be returned:\n"), cl.Name, cl.Person, len(cl.Holdings))
			c.itemTable(w, cl.Holdings)
		}
		if len(cl.Approvals) > 0 {
			line(w, c.say("未完结的审批 %d 项\n", "%d approvals still open\n"), len(cl.Approvals))
		}
	})
}
