package ctl

import (
	"context"
	"fmt"
	"io"
)

// auditHeadArgs are the arguments of custodyctl audit head.
type auditHeadArgs struct{}

func init() {
	add(define[auditHeadArgs]("audit head", "",
		"print the chain head (seq and hash) to record outside the system"))
}

func (*auditHeadArgs) run(ctx context.Context, c *CLI, args []string) error {
	var h struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := c.call(ctx, "GET", "/api/v1/audit/head", nil, &h); err != nil {
		return err
	}
	return c.output(h, func(w io.Writer) { fmt.Fprintf(w, "%d\t%s\n", h.Seq, h.Hash) })
}
