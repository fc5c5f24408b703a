package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/custodyhq/custody/internal/audit"
)

// auditVerifyArgs are the arguments of custodyctl audit verify.
type auditVerifyArgs struct {
	head string
}

func init() {
	add(define[auditVerifyArgs]("audit verify", "FILE",
		"verify an exported audit chain offline; names the first altered, deleted, inserted or reordered record"))
}

func (a *auditVerifyArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.head, "head", "", "a chain head recorded earlier (audit head); detects records cut off the end")
}

func (a *auditVerifyArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "FILE"); err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return exitf(ExitNotFound, "%v", err)
	}
	defer f.Close()
	res, err := audit.Verify(f, audit.VerifyOptions{Head: a.head})
	var b *audit.Break
	if errors.As(err, &b) {
		kinds := map[string]string{"altered": "被篡改", "deleted": "被删除", "inserted": "被插入", "reordered": "顺序被调换", "malformed": "格式损坏", "truncated": "末尾记录被截去"}
		return exitf(ExitTampered, "%s", c.say(
			fmt.Sprintf("审计链校验失败：第 %d 条记录（序号 %d）%s：%s", b.Index, b.Seq, kinds[b.Kind], b.ZH),
			fmt.Sprintf("audit chain broken: record %d (seq %d) %s: %s", b.Index, b.Seq, b.Kind, b.Detail)))
	}
	if err != nil {
		return err
	}
	return c.output(res, func(w io.Writer) {
		fmt.Fprintf(w, c.say("审计链完整：%d 条记录，链头 %s\n", "audit chain intact: %d records, head %s\n"), res.Records, res.Head)
		for _, sg := range res.Segments {
			// A chain that changed [crypto] profile is verified in halves, each named.
			fmt.Fprintf(w, c.say("  序号 %d–%d：%s\n", "  seq %d–%d: %s\n"), sg.From, sg.To, strings.ToUpper(sg.Alg))
		}
		if res.Mark != "" {
			fmt.Fprintf(w, c.say("导出文件密级标志：%s（按此密级保管）\n", "the export's mark: %s (keep it at this level)\n"), res.Mark)
		}
	})
}
