package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
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

func init() {
	var (
		user, unit, room, agent, doc, state, cabinet, out, head, parent string
		number, title, level, date, term, password, grantKind           string
		copies                                                          int
		roles, scopeUnits, scopePeople                                  listFlag
		passwordStdin                                                   bool
	)
	add(
		command{name: "login", args: "", help: "log in and keep the token in ~/.config/custody/token",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&user, "user", "", "username")
				fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (for scripts)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if user == "" {
					return exitf(ExitUsage, "--user is required")
				}
				pw, err := c.password(passwordStdin, "密码：", "Password: ")
				if err != nil {
					return err
				}
				var resp struct {
					Token   string `json:"token"`
					Expires string `json:"expires_at"`
				}
				if err := c.call(ctx, "POST", "/api/v1/login", map[string]string{"username": user, "password": pw}, &resp); err != nil {
					return err
				}
				path := c.tokenPath()
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					return err
				}
				if err := os.WriteFile(path, []byte(resp.Token+"\n"), 0o600); err != nil {
					return fmt.Errorf("save token: %w", err)
				}
				fmt.Fprintln(c.Stdout, c.say("已登录，令牌有效至 "+resp.Expires, "logged in; the token is valid until "+resp.Expires))
				return nil
			}},
		command{name: "passwd", args: "", help: "change my password (at a terminal: the current one, then the new one twice; or two lines of stdin)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				old, err := c.password(false, "当前密码：", "Current password: ")
				if err != nil {
					return err
				}
				nw, err := c.password(false, "新密码（至少 10 个字符）：", "New password (at least 10 characters): ")
				if err != nil {
					return err
				}
				if c.interactive() { // typed unseen, so typed twice
					again, err := c.password(false, "再次输入新密码：", "New password again: ")
					if err != nil {
						return err
					}
					if again != nw {
						return exitf(ExitUsage, "%s", c.say("两次输入的新密码不一致，密码未修改", "the two new passwords differ; the password is unchanged"))
					}
				}
				if err := c.call(ctx, "POST", "/api/v1/me/password", map[string]string{"old": old, "new": nw}, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("密码已修改", "password changed"))
				return nil
			}},
		command{name: "unit add", args: "CODE NAME", help: "add a unit (单位); --parent names the unit above it",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&parent, "parent", "", "the unit above (approvals nobody here may decide go up to it)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "CODE NAME"); err != nil {
					return err
				}
				return callAndPrint(c, ctx, "POST", "/api/v1/units", register.Unit{Code: args[0], Name: args[1], Parent: parent}, func(w io.Writer, u register.Unit) { fmt.Fprintf(w, "%s\t%s\n", u.Code, u.Name) })
			}},
		command{name: "unit list", help: "list units",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var us []register.Unit
				if err := c.call(ctx, "GET", "/api/v1/units", nil, &us); err != nil {
					return err
				}
				return c.output(us, func(w io.Writer) {
					fmt.Fprintln(w, c.say("代码\t名称", "CODE\tNAME"))
					for _, u := range us {
						fmt.Fprintf(w, "%s\t%s\n", u.Code, u.Name)
					}
				})
			}},
		command{name: "person add", args: "USERNAME NAME", help: "add a person; prints a one-time password unless --password is given",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&unit, "unit", "", "unit code")
				roles = nil // list flags keep values across runs in one process (tests)
				fs.Var(&roles, "role", "role(s): admin, secadmin, auditor, custodian, leader, holder (repeat or comma-separate)")
				fs.StringVar(&password, "password", "", "initial password (default: generated, shown once)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "USERNAME NAME"); err != nil {
					return err
				}
				np := register.NewPerson{Username: args[0], Name: args[1], Unit: unit, Password: password}
				for _, r := range roles {
					role, err := custody.ParseRole(r)
					if err != nil {
						return exitf(ExitUsage, "%v", err)
					}
					np.Roles = append(np.Roles, role)
				}
				var p struct {
					register.Person
					OneTime string `json:"one_time_password"`
				}
				if err := c.call(ctx, "POST", "/api/v1/people", np, &p); err != nil {
					return err
				}
				return c.output(p, func(w io.Writer) {
					fmt.Fprintf(w, "%s\t%s\t%s\n", p.Username, p.Name, c.roleNames(p.Roles))
					if p.OneTime != "" {
						fmt.Fprintf(w, "%s\t%s\n", c.say("一次性密码（仅显示一次）", "one-time password (shown once)"), p.OneTime)
					}
				})
			}},
		command{name: "person grant", args: "USERNAME", help: "grant a role (--role) or an authority (--grant principal_leader|secrecy_leader --unit U, or --grant backup): security administrator only",
			flags: func(fs *flag.FlagSet) {
				roles = nil
				fs.Var(&roles, "role", "role: custodian, leader, holder, auditor, secadmin or admin")
				fs.StringVar(&grantKind, "grant", "", "principal_leader (单位主要领导), secrecy_leader (分管保密领导) or backup (备份权限)")
				fs.StringVar(&unit, "unit", "", "the unit of a principal_leader or secrecy_leader grant")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return c.changeGrant(ctx, args, "/api/v1/grants", roles, grantKind, unit)
			}},
		command{name: "person revoke", args: "USERNAME", help: "revoke a role (--role) or an authority (--grant … [--unit U]): security administrator only",
			flags: func(fs *flag.FlagSet) {
				roles = nil
				fs.Var(&roles, "role", "role to revoke")
				fs.StringVar(&grantKind, "grant", "", "principal_leader, secrecy_leader or backup")
				fs.StringVar(&unit, "unit", "", "the unit of the authority")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return c.changeGrant(ctx, args, "/api/v1/grants/revoke", roles, grantKind, unit)
			}},
		command{name: "grants", help: "list the approval authorities and rights granted",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var gs []register.PersonGrant
				if err := c.call(ctx, "GET", "/api/v1/grants", nil, &gs); err != nil {
					return err
				}
				return c.output(gs, func(w io.Writer) {
					fmt.Fprintln(w, c.say("用户名\t权限\t单位\t授予人\t授予时间", "USERNAME\tGRANT\tUNIT\tGRANTED BY\tAT"))
					for _, g := range gs {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", g.Username, c.say(g.Text.ZH, g.Text.EN), g.Unit, g.GrantedBy, c.when(g.GrantedAt))
					}
				})
			}},
		command{name: "policy", help: "show the approval policy: per kind and level, who decides",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var ps []register.PolicyRule
				if err := c.call(ctx, "GET", "/api/v1/approval-policy", nil, &ps); err != nil {
					return err
				}
				return c.output(ps, func(w io.Writer) {
					fmt.Fprintln(w, c.say("审批类型\t密级\t单位\t审批人\t修改人", "KIND\tLEVEL\tUNIT\tDECIDER\tSET BY"))
					for _, p := range ps {
						u := p.Unit
						if u == "" {
							u = c.say("（所有单位）", "(every unit)")
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Level, u, c.say(p.DeciderText.ZH, p.DeciderText.EN), p.UpdatedBy)
					}
				})
			}},
		command{name: "policy set", args: "KIND LEVEL DECIDER", help: "set who decides (security administrator): KIND take_out|reproduce|destruction|scope, LEVEL 绝密|机密|秘密|*, DECIDER principal_leader|leader|secrecy_leader|issuing_unit [--unit U]",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&unit, "unit", "", "only for this unit (default: every unit)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 3, "KIND LEVEL DECIDER"); err != nil {
					return err
				}
				var p register.PolicyRule
				if err := c.call(ctx, "PUT", "/api/v1/approval-policy", register.PolicyRule{Kind: args[0], Level: args[1], Decider: args[2], Unit: unit}, &p); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("审批规则已更新："+p.Kind+" "+p.Level+" → "+p.DeciderText.ZH, "approval policy set: "+p.Kind+" "+p.Level+" → "+p.DeciderText.EN))
				return nil
			}},
		command{name: "person list", help: "list people and their roles",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var ps []register.Person
				if err := c.call(ctx, "GET", "/api/v1/people", nil, &ps); err != nil {
					return err
				}
				return c.output(ps, func(w io.Writer) {
					fmt.Fprintln(w, c.say("用户名\t姓名\t单位\t角色", "USERNAME\tNAME\tUNIT\tROLES"))
					for _, p := range ps {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Username, p.Name, p.Unit, c.roleNames(p.Roles))
					}
				})
			}},
		command{name: "document register", args: "", help: "register a document and create its numbered copies",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&number, "number", "", "document number (发文字号)")
				fs.StringVar(&title, "title", "", "title")
				fs.StringVar(&unit, "unit", "", "issuing unit code")
				fs.StringVar(&level, "level", "", "secrecy level: 绝密|机密|秘密 or top-secret|secret|confidential")
				fs.StringVar(&date, "date", "", "date issued, YYYY-MM-DD")
				fs.StringVar(&term, "term", "", "secrecy term (保密期限), e.g. 10年")
				fs.IntVar(&copies, "copies", 0, "number of copies (份数)")
				scopeUnits, scopePeople = nil, nil
				fs.Var(&scopeUnits, "scope-unit", "unit allowed to read (repeatable)")
				fs.Var(&scopePeople, "scope-person", "person allowed to read (repeatable)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				d := register.Document{Number: number, Title: title, IssuingUnit: unit, Level: custody.Level(level), IssuedOn: date, SecrecyTerm: term, Copies: copies, ScopeUnits: scopeUnits, ScopePeople: scopePeople}
				var resp struct {
					Document register.Document `json:"document"`
					Items    []register.Item   `json:"items"`
				}
				if err := c.call(ctx, "POST", "/api/v1/documents", d, &resp); err != nil {
					return err
				}
				return c.output(resp, func(w io.Writer) {
					fmt.Fprintf(w, c.say("已登记 %s（%s），共 %d 份：\n", "registered %s (%s), %d copies:\n"), resp.Document.Number, c.levelName(resp.Document.Level), len(resp.Items))
					c.itemTable(w, resp.Items)
				})
			}},
		command{name: "document list", help: "list documents (titles hidden from the 三员)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var ds []register.Document
				if err := c.call(ctx, "GET", "/api/v1/documents", nil, &ds); err != nil {
					return err
				}
				return c.output(ds, func(w io.Writer) {
					fmt.Fprintln(w, c.say("发文字号\t密级\t份数\t发文单位\t日期\t标题", "NUMBER\tLEVEL\tCOPIES\tUNIT\tDATE\tTITLE"))
					for _, d := range ds {
						t := d.Title
						if !d.TitleVisible {
							t = c.say("（无权查看）", "(hidden)")
						}
						fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", d.Number, c.levelName(d.Level), d.Copies, d.IssuingUnit, d.IssuedOn, t)
					}
				})
			}},
		command{name: "item list", help: "list items (numbered copies)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&doc, "document", "", "only this document number")
				fs.StringVar(&state, "state", "", "only this state")
				fs.StringVar(&cabinet, "cabinet", "", "only this cabinet")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				q := url.Values{}
				for k, v := range map[string]string{"document": doc, "state": state, "cabinet": cabinet} {
					if v != "" {
						q.Set(k, v)
					}
				}
				return callAndPrint(c, ctx, "GET", "/api/v1/items?"+q.Encode(), nil, func(w io.Writer, items []register.Item) { c.itemTable(w, items) })
			}},
		command{name: "item show", args: "ID", help: "show one item",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "ID"); err != nil {
					return err
				}
				var it register.Item
				if err := c.call(ctx, "GET", "/api/v1/items/"+url.PathEscape(args[0]), nil, &it); err != nil {
					return err
				}
				var tr *register.Transit
				if it.State == custody.InTransit || it.State == custody.TransferredOut {
					// Where it went and on whose receipt (机要交通、移交); an older transfer may have none.
					var t register.Transit
					if err := c.call(ctx, "GET", "/api/v1/items/"+url.PathEscape(args[0])+"/transit", nil, &t); err == nil {
						tr = &t
					}
				}
				return c.output(it, func(w io.Writer) {
					c.itemTable(w, []register.Item{it})
					if tr != nil {
						c.transitTable(w, *tr)
					}
				})
			}},
		command{name: "item store", args: "ID...", help: "store registered items in a cabinet (all or nothing)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&cabinet, "cabinet", "", "cabinet code") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if cabinet == "" || len(args) == 0 {
					return exitf(ExitUsage, "--cabinet and at least one item ID are required")
				}
				ids, err := parseIDs(args)
				if err != nil {
					return err
				}
				var items []register.Item
				if err := c.call(ctx, "POST", "/api/v1/items/store", map[string]any{"cabinet": cabinet, "items": ids}, &items); err != nil {
					return err
				}
				return c.output(items, func(w io.Writer) {
					fmt.Fprintf(w, c.say("%d 份已入柜 %s：\n", "%d items stored in %s:\n"), len(items), cabinet)
					c.itemTable(w, items)
				})
			}},
		command{name: "cabinet add", args: "CODE NAME", help: "add a steel cabinet",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&room, "room", "", "room code")
				fs.StringVar(&unit, "unit", "", "unit code")
				fs.StringVar(&agent, "agent", "", "the agent that watches it")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "CODE NAME"); err != nil {
					return err
				}
				return callAndPrint(c, ctx, "POST", "/api/v1/cabinets", register.Cabinet{Code: args[0], Name: args[1], Room: room, Unit: unit, Agent: agent}, func(w io.Writer, cab register.Cabinet) { fmt.Fprintf(w, "%s\t%s\t%s\n", cab.Code, cab.Name, cab.Room) })
			}},
		command{name: "cabinet list", help: "list cabinets",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var cs []register.Cabinet
				if err := c.call(ctx, "GET", "/api/v1/cabinets", nil, &cs); err != nil {
					return err
				}
				return c.output(cs, func(w io.Writer) {
					fmt.Fprintln(w, c.say("代码\t名称\t房间\t代理", "CODE\tNAME\tROOM\tAGENT"))
					for _, cab := range cs {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", cab.Code, cab.Name, cab.Room, cab.Agent)
					}
				})
			}},
		command{name: "desk add", args: "CODE NAME", help: "add a custodian's desk",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&room, "room", "", "room code")
				fs.StringVar(&agent, "agent", "", "the agent its scanner is attached to")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "CODE NAME"); err != nil {
					return err
				}
				return callAndPrint(c, ctx, "POST", "/api/v1/desks", register.Desk{Code: args[0], Name: args[1], Room: room, Agent: agent}, func(w io.Writer, d register.Desk) { fmt.Fprintf(w, "%s\t%s\t%s\n", d.Code, d.Name, d.Room) })
			}},
		command{name: "agent enroll", args: "ID", help: "enroll a custody-agent; its key is shown once",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "ID"); err != nil {
					return err
				}
				var ag struct {
					register.Agent
					Key string `json:"key"`
				}
				if err := c.call(ctx, "POST", "/api/v1/agents", map[string]string{"id": args[0]}, &ag); err != nil {
					return err
				}
				return c.output(ag, func(w io.Writer) {
					fmt.Fprintf(w, c.say("代理 %s 已登记。密钥（仅显示一次，写入代理配置的 key）：\n%s\n", "agent %s enrolled. Key (shown once; put it in the agent's config as key):\n%s\n"), ag.ID, ag.Key)
				})
			}},
		command{name: "agent revoke", args: "ID", help: "revoke an agent at once",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "ID"); err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/agents/"+url.PathEscape(args[0])+"/revoke", nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("已吊销代理 "+args[0], "revoked agent "+args[0]))
				return nil
			}},
		command{name: "agent list", help: "list enrolled agents",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var as []register.Agent
				if err := c.call(ctx, "GET", "/api/v1/agents", nil, &as); err != nil {
					return err
				}
				return c.output(as, func(w io.Writer) {
					fmt.Fprintln(w, c.say("代理\t登记时间\t吊销时间", "AGENT\tENROLLED\tREVOKED"))
					for _, a := range as {
						fmt.Fprintf(w, "%s\t%s\t%s\n", a.ID, a.Created, a.Revoked)
					}
				})
			}},
		command{name: "audit export", args: "", help: "write the audit chain as JSON lines (to -o FILE or stdout)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&out, "o", "", "output file (default stdout)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				resp, err := c.send(ctx, "GET", "/api/v1/audit", nil)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				return c.receive(resp, out, "导出审计链", "exporting the audit chain")
			}},
		command{name: "audit head", help: "print the chain head (seq and hash) to record outside the system",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var h struct {
					Seq  int64  `json:"seq"`
					Hash string `json:"hash"`
				}
				if err := c.call(ctx, "GET", "/api/v1/audit/head", nil, &h); err != nil {
					return err
				}
				return c.output(h, func(w io.Writer) { fmt.Fprintf(w, "%d\t%s\n", h.Seq, h.Hash) })
			}},
		command{name: "audit verify", args: "FILE", help: "verify an exported audit chain offline; names the first altered, deleted, inserted or reordered record",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&head, "head", "", "a chain head recorded earlier (audit head); detects records cut off the end")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "FILE"); err != nil {
					return err
				}
				f, err := os.Open(args[0])
				if err != nil {
					return exitf(ExitNotFound, "%v", err)
				}
				defer f.Close()
				res, err := audit.Verify(f, audit.VerifyOptions{Head: head})
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
					if res.Mark != "" {
						fmt.Fprintf(w, c.say("导出文件密级标志：%s（按此密级保管）\n", "the export's mark: %s (keep it at this level)\n"), res.Mark)
					}
				})
			}},
		command{name: "backup", args: "", help: "take an online backup of the register into -o FILE (custodyd can start from it)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&out, "o", "", "output file (must not exist)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if out == "" {
					return exitf(ExitUsage, "-o FILE is required")
				}
				if _, err := os.Stat(out); err == nil {
					return exitf(ExitConflict, "%s exists; choose a new file name", out)
				}
				resp, err := c.send(ctx, "POST", "/api/v1/backup", nil)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				if err := c.receive(resp, out, "下载备份", "downloading the backup"); err != nil {
					return err
				}
				fmt.Fprintln(c.Stderr, c.say("备份已写入 "+out, "backup written to "+out))
				return nil
			}},
	)
}

// writeOut copies r to path atomically (temp file + rename), or to stdout for "".
func (c *CLI) writeOut(path string, r io.Reader) error {
	if path == "" {
		_, err := io.Copy(c.Stdout, r)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".custodyctl-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
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

func (c *CLI) itemTable(w io.Writer, items []register.Item) {
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
	req := register.GrantRequest{Username: args[0], Grant: grant, Unit: unit}
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
	var p register.Person
	if err := c.call(ctx, "POST", path, req, &p); err != nil {
		return err
	}
	return c.output(p, func(w io.Writer) {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Username, p.Name, p.Unit, c.roleNames(p.Roles))
	})
}
