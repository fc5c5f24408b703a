package ctl

import (
	"context"
	"flag"
	"io"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// destructionCertifyArgs are the arguments of custodyctl destruction certify.
type destructionCertifyArgs struct {
	certificate string
	note        string
}

func init() {
	add(define[destructionCertifyArgs]("destruction certify", "ID",
		"record the secrecy bureau's destruction certificate for a batch sent to it (送销): its copies become destroyed"))
}

func (a *destructionCertifyArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.certificate, "certificate", "", "the bureau's destruction certificate number")
	fs.StringVar(&a.note, "note", "", "note")
}

func (a *destructionCertifyArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/destructions", "/certify")
	if err != nil {
		return err
	}
	var b apitype.Batch
	if err := c.call(ctx, "POST", path, map[string]string{"certificate": a.certificate, "note": a.note}, &b); err != nil {
		return err
	}
	return c.output(b, func(w io.Writer) {
		line(w, c.say("销毁批次 %d：已登记保密局销毁证明 %s，%d 份已销毁\n", "destruction batch %d: the bureau's certificate %s recorded, %d copies destroyed\n"), b.ID, b.CertificateNo, len(b.Items))
	})
}
