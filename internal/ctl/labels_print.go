package ctl

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/labels"
)

// labelsPrintArgs are the arguments of custodyctl labels print.
type labelsPrintArgs struct {
	doc      string
	template string
	format   string
	out      string
	printer  string
	dir      string
	font     string
}

func init() {
	add(define[labelsPrintArgs]("labels print", "[ITEM-ID...]",
		"print labels for a document's copies (--document) or for items: PDF/PNG to -o, ZPL/TSPL to -o or --printer"))
}

func (a *labelsPrintArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.doc, "document", "", "all copies of this document number")
	fs.StringVar(&a.template, "template", "copy-60x40", "label template in the labels directory (copy-40x30, copy-50x30, copy-60x40, copy-a4-21up)")
	fs.StringVar(&a.format, "format", "", "pdf, png, zpl or tspl (default: from -o's extension, zpl for --printer)")
	fs.StringVar(&a.out, "o", "", "output file")
	fs.StringVar(&a.printer, "printer", "", "send ZPL/TSPL to a printer: host[:port] (raw 9100) or a device such as /dev/usb/lp0")
	fs.StringVar(&a.dir, "labels-dir", firstNonEmpty(os.Getenv("CUSTODY_LABELS"), "labels"), "directory with stock/ and templates/ (env CUSTODY_LABELS)")
	fs.StringVar(&a.font, "font", labels.DefaultFontPath, "TrueType CJK font for PDF and PNG")
}

func (a *labelsPrintArgs) run(ctx context.Context, c *CLI, args []string) error {
	if (a.doc == "") == (len(args) == 0) {
		return exitf(ExitUsage, "give either --document NUMBER or item IDs")
	}
	if (a.out == "") == (a.printer == "") {
		return exitf(ExitUsage, "give either -o FILE or --printer TARGET")
	}
	f := labels.Format(strings.ToLower(a.format))
	if f == "" {
		f = labels.Format(strings.TrimPrefix(strings.ToLower(filepath.Ext(a.out)), "."))
		if a.printer != "" {
			f = "zpl"
		}
	}
	items, err := c.labelItems(ctx, a.doc, args)
	if err != nil {
		return err
	}
	ls := make([]labels.Label, 0, len(items))
	for _, it := range items {
		if it.EPC == "" {
			return exitf(ExitConflict, "%s", c.say(
				fmt.Sprintf("文件份 %d 没有电子标签编码：custodyd 未配置 [identity] company_prefix", it.ID),
				fmt.Sprintf("item %d has no EPC: custodyd has no [identity] company_prefix configured", it.ID)))
		}
		e, err := epc.DecodeHex(it.EPC)
		if err != nil {
			return fmt.Errorf("item %d: EPC %q from custodyd: %w", it.ID, it.EPC, err)
		}
		ls = append(ls, labels.Label{Copy: it.Copy, Copies: it.Copies, Reproduction: it.Reproduction, DocumentNumber: it.Document, Level: custody.Mark([]custody.Level{it.Level}, []string{it.Term}), EPC: e})
	}
	cat, err := labels.Load(os.DirFS(a.dir))
	if err != nil {
		return exitf(ExitUsage, "labels directory %s: %v (set --labels-dir or CUSTODY_LABELS)", a.dir, err)
	}
	tpl, err := cat.Template(a.template)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	var fnt *labels.Font
	if f == "pdf" || f == "png" {
		if fnt, err = labels.LoadFont(a.font); err != nil {
			return exitf(ExitUsage, "font %s: %v (install fonts-arphic-gbsn00lp or set --font)", a.font, err)
		}
	}
	var buf bytes.Buffer
	bar := c.startProgress(int64(len(ls)), false, "生成标签", "rendering labels")
	err = labels.Render(&buf, fnt, tpl, ls, labels.Options{Format: f, Progress: func(done int) { bar.Set(int64(done)) }})
	bar.Done()
	if err != nil {
		return err
	}
	if a.printer != "" {
		if err := labels.Send(ctx, a.printer, buf.Bytes()); err != nil {
			return err
		}
	} else if err := c.writeOut(a.out, &buf); err != nil {
		return err
	}
	fmt.Fprintln(c.Stderr, c.say(fmt.Sprintf("已生成 %d 张标签", len(ls)), fmt.Sprintf("%d labels done", len(ls))))
	return nil
}
