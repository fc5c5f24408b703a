package ctl

import (
	"context"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// policyArgs are the arguments of custodyctl policy.
type policyArgs struct{}

func init() {
	add(define[policyArgs]("policy", "",
		"show the approval policy: per kind and level, who decides"))
}

func (*policyArgs) run(ctx context.Context, c *CLI, args []string) error {
	var ps []apitype.PolicyRule
	if err := c.call(ctx, "GET", "/api/v1/approval-policy", nil, &ps); err != nil {
		return err
	}
	return c.output(ps, func(w io.Writer) {
		fmt.Fprintln(w, c.say("审批类型\t密级\t单位\t审批人\t修改人", "KIND\tLEVEL\tUNIT\tDECIDER\tSET BY"))
		for _, p := range ps {
			u := p.Unit
			if u == "" {
				u = c.say("（所有单位）", "(every unit)")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Level, u, c.say(p.DeciderText.ZH, p.DeciderText.EN), p.UpdatedBy)
		}
	})
}
