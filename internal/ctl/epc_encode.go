package ctl

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/epc"
)

// epcEncodeArgs are the arguments of custodyctl epc encode.
type epcEncodeArgs struct{}

func init() {
	add(define[epcEncodeArgs]("epc encode", "TAG-URI",
		"encode a tag URI (urn:epc:tag:…) as 24 upper-case hex digits (offline)"))
}

func (*epcEncodeArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "TAG-URI"); err != nil {
		return err
	}
	e, err := epc.ParseTagURI(args[0])
	if err != nil {
		return exitf(ExitFailed, "%s", c.say("无法编码标签 URI："+err.Error(), "cannot encode the tag URI: "+err.Error()))
	}
	if c.json {
		return c.output(map[string]string{"hex": e.Hex(), "tag_uri": e.TagURI(), "pure_identity_uri": e.PureIdentityURI()}, nil)
	}
	fmt.Fprintln(c.Stdout, e.Hex())
	return nil
}
