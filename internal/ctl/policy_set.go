package ctl

import (
	"context"
	"flag"
	"fmt"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// policySetArgs are the arguments of custodyctl policy set.
type policySetArgs struct {
	unit string
}

func init() {
	add(define[policySetArgs]("policy set", "KIND LEVEL DECIDER",
		"set who decides (security administrator): KIND take_out|reproduce|destruction|scope, LEVEL 绝密|机密|秘密|*, DECIDER principal_leader|leader|secrecy_leader|issuing_unit [--unit U]"))
}

func (a *policySetArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.unit, "unit", "", "only for this unit (default: every unit)")
}

func (a *policySetArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 3, "KIND LEVEL DECIDER"); err != nil {
		return err
	}
	var p apitype.PolicyRule
	if err := c.call(ctx, "PUT", "/api/v1/approval-policy", apitype.PolicyRule{Kind: args[0], Level: args[1], Decider: args[2], Unit: a.unit}, &p); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("审批规则已更新："+p.Kind+" "+p.Level+" → "+p.DeciderText.ZH, "approval policy set: "+p.Kind+" "+p.Level+" → "+p.DeciderText.EN))
	return nil
}
