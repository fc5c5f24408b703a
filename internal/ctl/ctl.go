// Package ctl is custodyctl: the command line for custodians and administrators over custodyd's
// HTTP API, plus the offline tools (audit verify, epc).
//
// Contract: Run parses arguments, talks to the server and prints human-readable tables (zh-CN
// by default, --lang en) or, with --json, the API's JSON. Its exit status tells scripts what
// happened (see the Exit constants); error messages go to stderr. Work that runs over a second
// (labels, exports, backup downloads) shows a progress bar on stderr when stderr is a terminal
// and --json is off; otherwise the output is the same bytes as without one (progress.go).
//
// Each command is a file of its own (item_store.go for "item store") holding its arguments
// struct and run method. The API's shapes come from internal/api/apitype: custodyctl links no
// server package (internal/archtest fails the build if it does).
package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/sitetime"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailed      = 1 // the server refused or failed; the message says why
	ExitUsage       = 2 // wrong arguments
	ExitAuth        = 3 // not logged in, or not allowed
	ExitNotFound    = 4
	ExitConflict    = 5 // exists already, or refused by a custody rule
	ExitUnreachable = 6 // custodyd cannot be reached
	ExitTampered    = 7 // audit verify found a break
)

// CLI is one invocation's environment.
type CLI struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	HTTP   *http.Client

	stdin  *bufio.Reader
	server string
	json   bool
	lang   string
	token  string

	siteZone *sitetime.Zone // the site's zone, once asked (zone())

	progressAfter time.Duration // when a progress bar appears; 0: progressAfter; < 0: at once (tests)
}

// A command is one line of custodyctl's command table. Each command lives in a file of its own
// (item_store.go for "item store") with its own arguments struct: the flags bind to a fresh
// struct at every run, so no two runs (tests make many in one process) share a flag's value.
type command struct {
	name string // "item store"
	args string // usage of the arguments
	help string
	bind func(fs *flag.FlagSet) runner // a fresh arguments struct, its flags added to fs
}

// runner is a command's arguments struct: run carries the command out with the positional
// arguments left after the flags.
type runner interface {
	run(ctx context.Context, c *CLI, args []string) error
}

// flagger is an arguments struct with flags of its own.
type flagger interface {
	flags(fs *flag.FlagSet)
}

// define declares the command whose arguments struct is A.
func define[A any, P interface {
	*A
	runner
}](name, args, help string) command {
	return defineNew(name, args, help, func() P { return new(A) })
}

// defineNew declares a command whose arguments struct newArgs makes, for commands that differ
// only in what they are made with (alert ack, alert resolve).
func defineNew[P runner](name, args, help string, newArgs func() P) command {
	return command{name: name, args: args, help: help, bind: func(fs *flag.FlagSet) runner {
		a := newArgs()
		if f, ok := any(a).(flagger); ok {
			f.flags(fs)
		}
		return a
	}}
}

var commands []command

func add(cmds ...command) { commands = append(commands, cmds...) }

// exitError carries an exit status with the message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func exitf(code int, format string, args ...any) error {
	return &exitError{code, fmt.Sprintf(format, args...)}
}

// Run executes args (without the program name) and returns the exit status.
func (c *CLI) Run(ctx context.Context, args []string) int {
	if c.HTTP == nil {
		c.HTTP = &http.Client{Timeout: 5 * time.Minute}
	}
	global := flag.NewFlagSet("custodyctl", flag.ContinueOnError)
	global.SetOutput(c.Stderr)
	global.StringVar(&c.server, "server", firstNonEmpty(c.Getenv("CUSTODY_SERVER"), "http://127.0.0.1:8080"), "custodyd URL (env CUSTODY_SERVER)")
	global.BoolVar(&c.json, "json", false, "print JSON for scripts")
	global.StringVar(&c.lang, "lang", firstNonEmpty(c.Getenv("CUSTODY_LANG"), "zh-CN"), "language of messages: zh-CN or en (env CUSTODY_LANG)")
	showVersion := global.Bool("version", false, "print custodyctl's version and exit")
	global.Usage = func() {}
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // --help asked for is an answer, not a mistake
			c.usage(c.Stdout)
			return ExitOK
		}
		c.usage(c.Stderr)
		return ExitUsage
	}
	if *showVersion {
		fmt.Fprint(c.Stdout, buildinfo.Line("custodyctl"))
		return ExitOK
	}
	rest := global.Args()
	if len(rest) > 0 && rest[0] == "help" {
		return c.help(rest[1:])
	}
	cmd, n := c.find(rest)
	if cmd == nil {
		if len(rest) == 0 {
			c.usage(c.Stderr)
			return ExitUsage
		}
		c.lang = langIn(rest, c.lang) // the message in the language asked for, wherever --lang stands
		fmt.Fprintf(c.Stderr, "custodyctl: %s\n", c.say(
			fmt.Sprintf("没有命令 %q；custodyctl help 列出全部命令", strings.Join(rest[:min(2, len(rest))], " ")),
			fmt.Sprintf("no command %q; custodyctl help lists them all", strings.Join(rest[:min(2, len(rest))], " "))))
		return ExitUsage
	}
	fs, a := c.flagSet(cmd, c.Stderr)
	if err := fs.Parse(interleave(fs, rest[n:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.commandUsage(cmd, c.Stdout)
			return ExitOK
		}
		return ExitUsage
	}
	c.token = c.Getenv("CUSTODY_TOKEN")
	if c.token == "" {
		if b, err := os.ReadFile(c.tokenPath()); err == nil {
			c.token = strings.TrimSpace(string(b))
		}
	}
	if err := a.run(ctx, c, fs.Args()); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			fmt.Fprintln(c.Stderr, "custodyctl:", ee.msg)
			if ee.code == ExitUsage {
				c.commandUsage(cmd, c.Stderr)
			}
			return ee.code
		}
		fmt.Fprintln(c.Stderr, "custodyctl:", err)
		return ExitFailed
	}
	return ExitOK
}

// interleave lets flags follow positional arguments ("item store 1 2 --cabinet C-01"), which
// people type more often than the flag package expects.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") {
				if f := fs.Lookup(name); f != nil {
					if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
						if i+1 < len(args) {
							flags = append(flags, args[i+1])
							i++
						}
					}
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, append([]string{"--"}, pos...)...)
}

func (c *CLI) find(args []string) (*command, int) {
	var best *command
	bestN := 0
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) <= len(args) && strings.Join(args[:len(words)], " ") == commands[i].name && len(words) > bestN {
			best, bestN = &commands[i], len(words)
		}
	}
	return best, bestN
}

func (c *CLI) usage(out io.Writer) {
	fmt.Fprintln(out, "usage: custodyctl [--server URL] [--json] [--lang zh-CN|en] COMMAND ...\n\ncommands:")
	w := newTable(out)
	for _, cmd := range sortedCommands() {
		fmt.Fprintf(w, "  %s %s\t%s\n", cmd.name, cmd.args, cmd.help)
	}
	w.Flush()
	fmt.Fprintln(out, "\ncustodyctl help COMMAND shows a command's flags; --lang, --server and --json may stand anywhere on the line.")
	fmt.Fprintln(out, "\nexit status: 0 ok, 1 failed, 2 usage, 3 not logged in or not allowed, 4 not found, 5 conflict or refused by a rule, 6 custodyd unreachable, 7 audit chain broken")
}

func (c *CLI) tokenPath() string {
	dir := c.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(c.Getenv("HOME"), ".config")
	}
	return filepath.Join(dir, "custody", "token")
}

func (c *CLI) en() bool { return strings.HasPrefix(strings.ToLower(c.lang), "en") }

// say picks the zh-CN or English text for people.
func (c *CLI) say(zh, en string) string {
	if c.en() {
		return en
	}
	return zh
}

// call sends a JSON request and decodes the JSON answer into out (if not nil).
func (c *CLI) call(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.send(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("read answer of %s %s: %w", method, path, err)
	}
	return nil
}

// send performs a request and turns error answers into exit errors; the caller closes the body
// of a successful response.
func (c *CLI) send(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, body)
	if err != nil {
		return nil, exitf(ExitUsage, "bad --server %q: %v", c.server, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept-Language", c.lang)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, exitf(ExitUnreachable, "%s", c.say(
			fmt.Sprintf("无法连接 custodyd（%s）：%v；请确认服务已启动（make run）或设置 --server", c.server, err),
			fmt.Sprintf("cannot reach custodyd at %s: %v — is it running (make run)? set --server", c.server, err)))
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
		msg = eb.Error.Message
	}
	code := ExitFailed
	switch resp.StatusCode {
	case 401, 403:
		code = ExitAuth
	case 404:
		code = ExitNotFound
	case 409, 422:
		code = ExitConflict
	case 400, 413:
		code = ExitUsage
	}
	return nil, &exitError{code, msg}
}

// callAndPrint makes one API call and prints its answer with print (as JSON with --json): the
// shape of most commands.
func callAndPrint[T any](c *CLI, ctx context.Context, method, path string, body any, print func(w io.Writer, v T)) error {
	var v T
	if err := c.call(ctx, method, path, body, &v); err != nil {
		return err
	}
	return c.output(v, func(w io.Writer) { print(w, v) })
}

// output prints v as JSON with --json, or calls table otherwise.
func (c *CLI) output(v any, print func(w io.Writer)) error {
	if c.json {
		enc := json.NewEncoder(c.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if isEmptyList(v) {
		_, err := fmt.Fprintln(c.Stdout, c.say("无", "none"))
		return err
	}
	t := newTable(c.Stdout)
	print(t)
	return t.Flush()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// readLine reads one line of standard input; one buffered reader serves every call, so two
// lines piped in (old and new password) both arrive.
func (c *CLI) readLine() (string, error) {
	if c.stdin == nil {
		c.stdin = bufio.NewReader(c.Stdin)
	}
	line, err := c.stdin.ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func needArgs(args []string, n int, what string) error {
	if len(args) != n {
		return exitf(ExitUsage, "expected %s", what)
	}
	return nil
}
