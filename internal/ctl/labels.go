package ctl

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/labels"
	"github.com/custodyhq/custody/internal/register"
)

// labels print renders on the custodian's machine: custodyd hands out the items with their EPCs
// (never a title — labels carry none), and the label templates, font and printer are local.
func init() {
	var doc, template, format, out, printer, dir, font string
	add(command{name: "labels print", args: "[ITEM-ID...]", help: "print labels for a document's copies (--document) or for items: PDF/PNG to -o, ZPL/TSPL to -o or --printer",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&doc, "document", "", "all copies of this document number")
			fs.StringVar(&template, "template", "copy-60x40", "label template in the labels directory (copy-40x30, copy-50x30, copy-60x40, copy-a4-21up)")
			fs.StringVar(&format, "format", "", "pdf, png, zpl or tspl (default: from -o's extension, zpl for --printer)")
			fs.StringVar(&out, "o", "", "output file")
			fs.StringVar(&printer, "printer", "", "send ZPL/TSPL to a printer: host[:port] (raw 9100) or a device such as /dev/usb/lp0")
			fs.StringVar(&dir, "labels-dir", firstNonEmpty(os.Getenv("CUSTODY_LABELS"), "labels"), "directory with stock/ and templates/ (env CUSTODY_LABELS)")
			fs.StringVar(&font, "font", labels.DefaultFontPath, "TrueType CJK font for PDF and PNG")
		},
		run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
			if (doc == "") == (len(args) == 0) {
				return exitf(ExitUsage, "give either --document NUMBER or item IDs")
			}
			if (out == "") == (printer == "") {
				return exitf(ExitUsage, "give either -o FILE or --printer TARGET")
			}
			f := labels.Format(strings.ToLower(format))
			if f == "" {
				f = labels.Format(strings.TrimPrefix(strings.ToLower(filepath.Ext(out)), "."))
				if printer != "" {
					f = "zpl"
				}
			}
			items, err := c.labelItems(ctx, doc, args)
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
			cat, err := labels.Load(os.DirFS(dir))
			if err != nil {
				return exitf(ExitUsage, "labels directory %s: %v (set --labels-dir or CUSTODY_LABELS)", dir, err)
			}
			tpl, err := cat.Template(template)
			if err != nil {
				return exitf(ExitUsage, "%v", err)
			}
			var fnt *labels.Font
			if f == "pdf" || f == "png" {
				if fnt, err = labels.LoadFont(font); err != nil {
					return exitf(ExitUsage, "font %s: %v (install fonts-arphic-gbsn00lp or set --font)", font, err)
				}
			}
			var buf bytes.Buffer
			bar := c.startProgress(int64(len(ls)), false, "生成标签", "rendering labels")
			err = labels.Render(&buf, fnt, tpl, ls, labels.Options{Format: f, Progress: func(done int) { bar.Set(int64(done)) }})
			bar.Done()
			if err != nil {
				return err
			}
			if printer != "" {
				if err := labels.Send(ctx, printer, buf.Bytes()); err != nil {
					return err
				}
			} else if err := c.writeOut(out, &buf); err != nil {
				return err
			}
			fmt.Fprintln(c.Stderr, c.say(fmt.Sprintf("已生成 %d 张标签", len(ls)), fmt.Sprintf("%d labels done", len(ls))))
			return nil
		}})
}

func (c *CLI) labelItems(ctx context.Context, doc string, ids []string) ([]register.Item, error) {
	if doc != "" {
		var items []register.Item
		err := c.call(ctx, "GET", "/api/v1/items?"+url.Values{"document": {doc}}.Encode(), nil, &items)
		if err == nil && len(items) == 0 {
			err = exitf(ExitNotFound, "%s", c.say("没有文件 "+doc+" 的文件份", "no items of document "+doc))
		}
		return items, err
	}
	var items []register.Item
	bar := c.startProgress(int64(len(ids)), false, "读取文件份", "fetching items")
	defer bar.Done()
	for _, s := range ids {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, exitf(ExitUsage, "item ID %q is not a number", s)
		}
		var it register.Item
		if err := c.call(ctx, "GET", "/api/v1/items/"+s, nil, &it); err != nil {
			return nil, err
		}
		items = append(items, it)
		bar.Set(int64(len(items)))
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].ID < items[j].ID })
	return items, nil
}
