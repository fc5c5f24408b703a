package ctl

import (
	"context"
	"io"
	"net/url"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// handoverUnscanArgs are the arguments of custodyctl handover unscan.
type handoverUnscanArgs struct{}

func init() {
	add(define[handoverUnscanArgs]("handover unscan", "ID ITEM",
		"take an item scanned by mistake out of an open handover"))
}

func (*handoverUnscanArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 2, "ID ITEM"); err != nil {
		return err
	}
	path, err := sessionPath(args, "/scans/"+url.PathEscape(args[1]))
	if err != nil {
		return err
	}
	return callAndPrint(c, ctx, "DELETE", path, nil, func(w io.Writer, s apitype.Session) { c.sessionTable(w, s) })
}
