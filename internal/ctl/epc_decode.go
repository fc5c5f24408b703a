package ctl

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/epc"
)

// The epc commands work offline: a custodian or field engineer can read a tag dump or prepare
// an encoding without a server.

// epcDecodeArgs are the arguments of custodyctl epc decode.
type epcDecodeArgs struct{}

func init() {
	add(define[epcDecodeArgs]("epc decode", "HEX",
		"decode a 96-bit EPC (24 hex digits): tag URI, then pure-identity URI (offline)"))
}

func (*epcDecodeArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "HEX (24 hex digits)"); err != nil {
		return err
	}
	e, err := epc.DecodeHex(args[0])
	if err != nil {
		return exitf(ExitFailed, "%s", c.say("无法解码 EPC："+err.Error(), "cannot decode the EPC: "+err.Error()))
	}
	if c.json {
		return c.output(map[string]string{"hex": e.Hex(), "tag_uri": e.TagURI(), "pure_identity_uri": e.PureIdentityURI()}, nil)
	}
	fmt.Fprintln(c.Stdout, e.TagURI())
	fmt.Fprintln(c.Stdout, e.PureIdentityURI())
	return nil
}
