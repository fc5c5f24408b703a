package ctl

import (
	"context"
	"flag"
	"io"
)

// documentDeclassifyArgs are the arguments of custodyctl document declassify.
type documentDeclassifyArgs struct {
	decisionArgs
}

func init() {
	add(define[documentDeclassifyArgs]("document declassify", "NUMBER",
		"record a 解密 decided by --authority in --decision; the copies can then be released (item release)"))
}

func (a *documentDeclassifyArgs) flags(fs *flag.FlagSet) {
	a.decisionArgs.flags(fs)
}

func (a *documentDeclassifyArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "the document number (发文字号)"); err != nil {
		return err
	}
	body := map[string]any{"number": args[0], "authority": a.authority, "decision_no": a.decision, "note": a.note}
	var d documentInfo
	if err := c.call(ctx, "POST", "/api/v1/declassifications", body, &d); err != nil {
		return err
	}
	return c.output(d, func(w io.Writer) {
		line(w, c.say("已登记解密：%s 退出涉密文件台账；在柜文件份可解除管理：custodyctl item release ID…\n", "declassification recorded: %s leaves the classified register; release its copies with custodyctl item release ID…\n"), d.Number)
	})
}
