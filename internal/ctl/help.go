package ctl

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
)

// flagSet is a command's flags plus the global ones, so that --lang, --server and --json may be
// written after the command as well as before it, and the arguments struct they fill.
func (c *CLI) flagSet(cmd *command, out io.Writer) (*flag.FlagSet, runner) {
	fs := flag.NewFlagSet("custodyctl "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.BoolVar(&c.json, "json", c.json, "print JSON for scripts")
	fs.StringVar(&c.lang, "lang", c.lang, "language of messages: zh-CN or en (env CUSTODY_LANG)")
	fs.StringVar(&c.server, "server", c.server, "custodyd URL (env CUSTODY_SERVER)")
	a := cmd.bind(fs)
	fs.Usage = func() {}
	return fs, a
}

// commandUsage prints one command's synopsis, help and flags.
func (c *CLI) commandUsage(cmd *command, out io.Writer) {
	fmt.Fprintf(out, "usage: custodyctl %s [flags] %s\n  %s\n\nflags:\n", cmd.name, cmd.args, cmd.help)
	fs, _ := c.flagSet(cmd, out)
	fs.PrintDefaults()
}

// help answers "custodyctl help [COMMAND…]" on stdout: the list of commands, or one command's
// usage (with the commands under it, for "help item").
func (c *CLI) help(args []string) int {
	if len(args) == 0 {
		c.usage(c.Stdout)
		return ExitOK
	}
	if cmd, n := c.find(args); cmd != nil && n == len(args) {
		c.commandUsage(cmd, c.Stdout)
		return ExitOK
	}
	prefix := strings.Join(args, " ") + " "
	t := newTable(c.Stdout)
	found := false
	for _, cmd := range sortedCommands() {
		if strings.HasPrefix(cmd.name, prefix) {
			fmt.Fprintf(t, "  %s %s\t%s\n", cmd.name, cmd.args, cmd.help)
			found = true
		}
	}
	if found {
		t.Flush()
		return ExitOK
	}
	fmt.Fprintf(c.Stderr, "custodyctl: %s\n", c.say(fmt.Sprintf("没有命令 %q；custodyctl help 列出全部命令", strings.Join(args, " ")),
		fmt.Sprintf("no command %q; custodyctl help lists them all", strings.Join(args, " "))))
	return ExitUsage
}

// isEmptyList reports a list answer with nothing in it, which a table shows as 无 / none rather
// than a heading over nothing.
func isEmptyList(v any) bool {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	return (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) && rv.Len() == 0
}

// langIn finds --lang among arguments no flag set has parsed (an unknown command's).
func langIn(args []string, def string) string {
	for i, a := range args {
		switch {
		case (a == "--lang" || a == "-lang") && i+1 < len(args):
			return args[i+1]
		case strings.HasPrefix(a, "--lang="), strings.HasPrefix(a, "-lang="):
			return a[strings.Index(a, "=")+1:]
		}
	}
	return def
}

// sortedCommands is the command table in the order of the names: each command joins it from
// its own file, so the order of registration says nothing.
func sortedCommands() []command {
	cs := slices.Clone(commands)
	slices.SortFunc(cs, func(a, b command) int { return strings.Compare(a.name, b.name) })
	return cs
}
