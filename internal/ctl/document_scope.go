package ctl

import (
	"context"
	"flag"
	"io"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// documentScopeArgs are the arguments of custodyctl document scope.
type documentScopeArgs struct {
	approval int64
}

func init() {
	add(define[documentScopeArgs]("document scope", "",
		"widen a readership scope under the issuing unit's approval (--approval)"))
}

func (a *documentScopeArgs) flags(fs *flag.FlagSet) {
	fs.Int64Var(&a.approval, "approval", 0, "approval ID (kind scope)")
}

func (a *documentScopeArgs) run(ctx context.Context, c *CLI, args []string) error {
	var d apitype.Document
	if err := c.call(ctx, "POST", "/api/v1/scope-widenings", map[string]int64{"approval": a.approval}, &d); err != nil {
		return err
	}
	return c.output(d, func(w io.Writer) {
		line(w, c.say("%s 知悉范围：单位 %s；人员 %s\n", "%s readership scope: units %s; people %s\n"), d.Number, strings.Join(d.ScopeUnits, ","), strings.Join(d.ScopePeople, ","))
	})
}
