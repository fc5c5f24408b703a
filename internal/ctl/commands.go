package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// writeOut copies r to path atomically (temp file + rename), or to stdout for "".
func (c *CLI) writeOut(path string, r io.Reader) error {
	return c.writeOutWith(path, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// writeOutWith calls write with path's temporary file (renamed to path once write succeeded and
// the file is synced), or with stdout for "".
func (c *CLI) writeOutWith(path string, write func(w io.Writer) error) error {
	if path == "" {
		return write(c.Stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".custodyctl-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// password reads a password: without echo from a terminal, or as one line of standard input.
// interactive reports whether passwords are typed at a terminal (not piped in).
func (c *CLI) interactive() bool {
	f, ok := c.Stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (c *CLI) password(fromStdin bool, zh, en string) (string, error) {
	if f, ok := c.Stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(c.Stderr, c.say(zh, en))
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.Stderr)
		return string(b), err
	}
	pw, err := c.readLine()
	if err != nil {
		return "", exitf(ExitUsage, "no password on standard input")
	}
	return pw, nil
}

func parseIDs(args []string) ([]int64, error) {
	ids := make([]int64, len(args))
	for i, a := range args {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return nil, exitf(ExitUsage, "item ID %q is not a positive number", a)
		}
		ids[i] = id
	}
	return ids, nil
}

func (c *CLI) levelName(l custody.Level) string {
	if t := l.Text(); t.ZH != "" {
		return t.In(c.lang)
	}
	return string(l)
}

func (c *CLI) roleNames(rs []custody.Role) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Text().In(c.lang))
	}
	return strings.Join(out, ",")
}

func (c *CLI) itemTable(w io.Writer, items []apitype.Item) {
	fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t密级\t状态\t位置", "ID\tDOCUMENT\tCOPY\tLEVEL\tSTATE\tPLACE"))
	for _, it := range items {
		place := it.Cabinet
		if it.Holder != "" {
			place = it.Holder
		}
		if place == "" {
			place = it.Place // in transit or transferred out: the receiving unit
		}
		fmt.Fprintf(w, "%d\t%s\t%d/%d\t%s\t%s\t%s\n", it.ID, it.Document, it.Copy, it.Copies, c.levelName(it.Level), it.StateText().In(c.lang), place)
	}
}

// changeGrant grants or revokes one role or authority.
func (c *CLI) changeGrant(ctx context.Context, args []string, path string, roles []string, grant, unit string) error {
	if err := needArgs(args, 1, "USERNAME"); err != nil {
		return err
	}
	req := apitype.GrantRequest{Username: args[0], Grant: grant, Unit: unit}
	if len(roles) > 1 {
		return exitf(ExitUsage, "one --role at a time")
	}
	if len(roles) == 1 {
		role, err := custody.ParseRole(roles[0])
		if err != nil {
			return exitf(ExitUsage, "%v", err)
		}
		req.Role = role
	}
	var p apitype.Person
	if err := c.call(ctx, "POST", path, req, &p); err != nil {
		return err
	}
	return c.output(p, func(w io.Writer) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Username, p.Name, p.Unit, c.roleNames(p.Roles))
	})
}
