package ctl

import (
	"context"
	"flag"
	"net/url"
)

// destructionCertificateArgs are the arguments of custodyctl destruction certificate.
type destructionCertificateArgs struct {
	out    string
	format string
}

func init() {
	add(define[destructionCertificateArgs]("destruction certificate", "ID",
		"the destruction certificate (PDF, or --format csv) to -o FILE"))
}

func (a *destructionCertificateArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.out, "o", "", "output file (default stdout)")
	fs.StringVar(&a.format, "format", "pdf", "pdf or csv")
}

func (a *destructionCertificateArgs) run(ctx context.Context, c *CLI, args []string) error {
	path, err := idPath(args, "/api/v1/destructions", "/certificate?format="+url.QueryEscape(a.format))
	if err != nil {
		return err
	}
	return c.download(ctx, path, a.out)
}
