package ctl

import (
	"context"
	"flag"
	"fmt"

	"github.com/custodyhq/custody/internal/epc"
)

// The epc commands work offline: a custodian or field engineer can read a tag dump or prepare
// an encoding without a server.
func init() {
	add(
		command{name: "epc decode", args: "HEX", help: "decode a 96-bit EPC (24 hex digits): tag URI, then pure-identity URI (offline)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
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
			}},
		command{name: "epc encode", args: "TAG-URI", help: "encode a tag URI (urn:epc:tag:…) as 24 upper-case hex digits (offline)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
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
			}},
	)
}
