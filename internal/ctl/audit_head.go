package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/custodyhq/custody/internal/anchor"
	"github.com/custodyhq/custody/internal/cryptoprofile"
)

// auditHeadArgs are the arguments of custodyctl audit head: the chain head to record outside
// the system; with --sign, signed by the security auditor's key (SM2 or Ed25519, from keys new)
// as the external anchor that audit verify --anchor checks (package anchor).
type auditHeadArgs struct {
	sign, out string
}

func init() {
	add(define[auditHeadArgs]("audit head", "",
		"print the chain head (seq and hash) to record outside the system; --sign KEY writes it signed (the external anchor) to -o FILE or stdout"))
}

func (a *auditHeadArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.sign, "sign", "", "the auditor's private key (PEM, from keys new): write the head signed, with the time of signing")
	fs.StringVar(&a.out, "o", "", "with --sign: write the signed head to this file (must not exist; default stdout)")
}

func (a *auditHeadArgs) run(ctx context.Context, c *CLI, args []string) error {
	var signer *cryptoprofile.Signer
	if a.sign != "" {
		b, err := os.ReadFile(a.sign)
		if err != nil {
			return exitf(ExitNotFound, "%v", err)
		}
		if signer, err = cryptoprofile.ParseSigner(b); err != nil {
			return exitf(ExitUsage, "%s: %s", a.sign, c.say("不是可用的私钥："+err.Error(), err.Error()))
		}
	} else if a.out != "" {
		return exitf(ExitUsage, "-o is for --sign")
	}
	var h struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := c.call(ctx, "GET", "/api/v1/audit/head", nil, &h); err != nil {
		return err
	}
	if signer == nil {
		return c.output(h, func(w io.Writer) { fmt.Fprintf(w, "%d\t%s\n", h.Seq, h.Hash) })
	}
	if h.Seq == 0 {
		return exitf(ExitConflict, "%s", c.say("审计链为空，没有可签名的链头", "the audit chain is empty: no head to sign"))
	}
	signed, err := anchor.Sign(signer, h.Seq, h.Hash, time.Now())
	if err != nil {
		return err
	}
	w := c.Stdout
	if a.out != "" {
		f, err := os.OpenFile(a.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return exitf(ExitConflict, "%v", err)
		}
		defer f.Close()
		w = f
	}
	if err := signed.Write(w); err != nil {
		return fmt.Errorf("write the signed head: %w", err)
	}
	if a.out != "" {
		fmt.Fprintf(c.Stderr, c.say("已签名链头 序号 %d（%s）写入 %s；请离线保存\n", "signed head seq %d (%s) written to %s; keep it off this system\n"), signed.Seq, signed.SigAlg, a.out)
	}
	return nil
}
