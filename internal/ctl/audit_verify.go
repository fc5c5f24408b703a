package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/custodyhq/custody/internal/anchor"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
)

// auditVerifyArgs are the arguments of custodyctl audit verify: an exported chain checked
// offline — intact, each hash algorithm's half named, and with --anchor/--pub extending a head
// the auditor signed (package anchor).
type auditVerifyArgs struct {
	head, anchor, pub string
}

func init() {
	add(define[auditVerifyArgs]("audit verify", "FILE",
		"verify an exported audit chain offline; names the first altered, deleted, inserted or reordered record; --anchor FILE --pub KEY proves it extends a signed head"))
}

func (a *auditVerifyArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.head, "head", "", "a chain head recorded earlier (audit head); detects records cut off the end")
	fs.StringVar(&a.anchor, "anchor", "", "a signed head (audit head --sign): the export must extend it")
	fs.StringVar(&a.pub, "pub", "", "with --anchor: the auditor's public key (PEM, from keys new)")
}

func (a *auditVerifyArgs) run(ctx context.Context, c *CLI, args []string) error {
	if err := needArgs(args, 1, "FILE"); err != nil {
		return err
	}
	if (a.anchor == "") != (a.pub == "") {
		return exitf(ExitUsage, "%s", c.say("--anchor 与 --pub 须同时给出", "--anchor and --pub go together"))
	}
	if a.anchor != "" && a.head != "" {
		return exitf(ExitUsage, "%s", c.say("--head 与 --anchor 只用其一", "use --head or --anchor, not both"))
	}
	var (
		signed   anchor.Head
		verifier *cryptoprofile.Verifier
	)
	if a.anchor != "" {
		b, err := os.ReadFile(a.pub)
		if err != nil {
			return exitf(ExitNotFound, "%v", err)
		}
		if verifier, err = cryptoprofile.ParseVerifier(b); err != nil {
			return exitf(ExitUsage, "%s: %v", a.pub, err)
		}
		af, err := os.Open(a.anchor)
		if err != nil {
			return exitf(ExitNotFound, "%v", err)
		}
		signed, err = anchor.Read(af)
		af.Close()
		if err != nil {
			return exitf(ExitUsage, "%s: %v", a.anchor, err)
		}
	}
	f, err := os.Open(args[0])
	if err != nil {
		return exitf(ExitNotFound, "%v", err)
	}
	defer f.Close()
	var res audit.Result
	if verifier != nil {
		res, err = anchor.VerifyExport(f, signed, verifier)
	} else {
		res, err = audit.Verify(f, audit.VerifyOptions{Head: a.head})
	}
	if errors.Is(err, anchor.ErrBadSignature) {
		return exitf(ExitTampered, "%s", c.say("已签名链头的签名无效：链头在签名后被改动，或不是该公钥签名的："+a.anchor,
			a.anchor+": "+err.Error()))
	}
	var b *audit.Break
	if errors.As(err, &b) {
		kinds := map[string]string{"altered": "被篡改", "deleted": "被删除", "inserted": "被插入", "reordered": "顺序被调换", "malformed": "格式损坏", "truncated": "末尾记录被截去", "rewritten": "签名后被改写"}
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
		if verifier != nil {
			fmt.Fprintf(w, c.say("延续已签名的链头：序号 %d，签名于 %s（%s）\n", "extends the signed head: seq %d, signed %s (%s)\n"),
				signed.Seq, signed.At.UTC().Format("2006-01-02T15:04:05Z"), signed.SigAlg)
		}
		if res.Mark != "" {
			fmt.Fprintf(w, c.say("导出文件密级标志：%s（按此密级保管）\n", "the export's mark: %s (keep it at this level)\n"), res.Mark)
		}
	})
}
