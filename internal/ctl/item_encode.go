package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// item encode asks custodyd to write an item's EPC onto the blank tag lying on a desk's
// tag-encoding station. custodyd waits for the station's answer (up to 30 s), so the custodian
// learns at once whether the tag is written, was already, or why nothing was written.

// itemEncodeArgs are the arguments of custodyctl item encode.
type itemEncodeArgs struct {
	desk string
}

func init() {
	add(define[itemEncodeArgs]("item encode", "ID",
		"write the item's EPC onto the one blank tag on a desk's tag-encoding station and read it back"))
}

func (a *itemEncodeArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.desk, "desk", "", "desk code of the station")
}

func (a *itemEncodeArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	if a.desk == "" {
		return exitf(ExitUsage, "%s", c.say("需要 --desk（工作台代码）", "--desk (the desk code) is required"))
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id < 1 {
		return exitf(ExitUsage, "item ID %q is not a positive number", args[0])
	}
	var enc apitype.Encoding
	if err := c.call(ctx, "POST", fmt.Sprintf("/api/v1/items/%d/encode", id), map[string]string{"desk": a.desk}, &enc); err != nil {
		return err
	}
	return c.output(enc, func(w io.Writer) {
		if enc.Outcome == "already" {
			fmt.Fprintf(w, c.say("标签已是 %s 第%d份的 EPC %s，未重写（工作台 %s）\n", "the tag already carries the EPC %[3]s of %[1]s copy %[2]d; not rewritten (desk %[4]s)\n"),
				enc.Item.Document, enc.Item.Copy, enc.EPC, enc.Desk)
			return
		}
		fmt.Fprintf(w, c.say("已写入并回读：%s 第%d份 → EPC %s（工作台 %s）\n", "written and read back: %s copy %d → EPC %s (desk %s)\n"),
			enc.Item.Document, enc.Item.Copy, enc.EPC, enc.Desk)
	})
}
