package ctl

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// The custodian's desk: handover sessions, approvals and the flows built on them.

var purposeNames = map[string]string{
	"借阅": register.PurposeBorrow, "传阅": register.PurposeCirculate, "阅文室": register.PurposeReadingRoom, "携带外出": register.PurposeTakeOut,
	"归还": register.PurposeReturn, "移交": register.PurposeTransfer, "归档": register.PurposeArchive, "销毁": register.PurposeDestroy,
	"送销": register.PurposeDestroy, "入柜": register.PurposeStore, "扫描入柜": register.PurposeStore,
	"机要交通": register.PurposeDispatch, "交机要交通": register.PurposeDispatch, "退回入柜": register.PurposeReceive, "上交": register.PurposeTransfer,
}

func init() {
	var (
		desk, purpose, due, cabinet, target, place, receipt, note, reason, secondBadge string
		courier, supervisor, certificate                                               string
		kind, forWho, document, unit, expires, format, out                             string
		with, companionBadge, consent                                                  string
		envelope, destination, receiver, expected                                      string
		approval, batch                                                                int64
		copies, firstCopy, lastCopy                                                    int
		pinStdin, fromStdin, pending                                                   bool
		items, scopeUnits, scopePeople                                                 listFlag
	)
	sessionPath := func(args []string, rest string) (string, error) {
		if len(args) < 1 {
			return "", exitf(ExitUsage, "expected the handover ID")
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return "", exitf(ExitUsage, "handover ID %q is not a positive number", args[0])
		}
		return fmt.Sprintf("/api/v1/sessions/%d%s", id, rest), nil
	}
	idPath := func(args []string, prefix, rest string) (string, error) {
		if err := needArgs(args, 1, "ID"); err != nil {
			return "", err
		}
		id, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil || id <= 0 {
			return "", exitf(ExitUsage, "ID %q is not a positive number", args[0])
		}
		return fmt.Sprintf("%s/%d%s", prefix, id, rest), nil
	}
	add(
		command{name: "badge issue", args: "USERNAME CODE", help: "issue a badge (admin); its holder then chooses the PIN with custodyctl badge pin",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "USERNAME CODE"); err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/badges", map[string]string{"username": args[0], "code": args[1]}, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("已为 "+args[0]+" 发放工作证 "+args[1]+"；PIN 由持证人本人设置：custodyctl badge pin",
					"badge "+args[1]+" issued to "+args[0]+"; its holder chooses the PIN: custodyctl badge pin"))
				return nil
			}},
		command{name: "badge reset", args: "USERNAME", help: "reset a badge (admin): its PIN is cleared until its holder chooses a new one",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "USERNAME"); err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/badges/"+url.PathEscape(args[0])+"/reset", nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("已重置 "+args[0]+" 的工作证：持证人须重新设置 PIN 后才能签字", args[0]+"'s badge is reset: it signs nothing until its holder chooses a new PIN"))
				return nil
			}},
		command{name: "badge pin", args: "", help: "choose or change your own badge PIN: current PIN (empty for a new or reset badge), then the new one, from the terminal or lines of stdin",
			flags: func(fs *flag.FlagSet) { fs.BoolVar(&pinStdin, "pin-stdin", false, "read the PINs from standard input") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				old, err := c.password(pinStdin, "当前 PIN（新证或已重置则直接回车）：", "Current PIN (press Enter for a new or reset badge): ")
				if err != nil && !pinStdin {
					return err
				}
				pin, err := c.password(pinStdin, "新 PIN（4–12 位数字）：", "New PIN (4–12 digits): ")
				if err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/me/badge-pin", map[string]string{"old": old, "new": pin}, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("工作证 PIN 已设置", "badge PIN set"))
				return nil
			}},

		// Approvals.
		command{name: "approval request", args: "", help: "request an approval: --kind take_out|reproduce|scope with --reason",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&kind, "kind", "", "take_out (携带外出), reproduce (复制) or scope (扩大知悉范围)")
				fs.StringVar(&forWho, "for", "", "take_out: who takes the items out (default: me)")
				fs.Var(fresh(&items), "item", "item ID (repeatable; take_out lists items, reproduce names the source)")
				fs.IntVar(&copies, "copies", 0, "reproduce: number of copies")
				fs.StringVar(&due, "due", "", "take_out: when the items must be back (2026-11-30 18:00)")
				fs.StringVar(&document, "document", "", "scope: document number")
				fs.Var(fresh(&scopeUnits), "scope-unit", "scope: unit to add (repeatable)")
				fs.Var(fresh(&scopePeople), "scope-person", "scope: person to add (repeatable)")
				fs.StringVar(&unit, "unit", "", "refused: who decides comes from the approval policy (custodyctl policy)")
				fs.StringVar(&with, "with", "", "take_out of top-secret items: the second named person")
				fs.StringVar(&reason, "reason", "", "reason")
				fs.StringVar(&expires, "expires", "", "the approval lapses at (default 7 days)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				ids, err := parseIDs(items)
				if err != nil {
					return err
				}
				req := register.ApprovalRequest{Kind: kind, For: forWho, Items: ids, Copies: copies, Due: due, Document: document, ScopeUnits: scopeUnits, ScopePeople: scopePeople, Unit: unit, With: with, Reason: reason, Expires: expires}
				return callAndPrint(c, ctx, "POST", "/api/v1/approvals", req, func(w io.Writer, ap register.Approval) { c.approvalTable(w, []register.Approval{ap}) })
			}},
		command{name: "approval list", help: "list approvals (--pending: undecided only)",
			flags: func(fs *flag.FlagSet) { fs.BoolVar(&pending, "pending", false, "only undecided approvals") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path := "/api/v1/approvals"
				if pending {
					path += "?pending=1"
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, aps []register.Approval) { c.approvalTable(w, aps) })
			}},
		command{name: "approval show", args: "ID", help: "show one approval",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/approvals", "")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, ap register.Approval) { c.approvalTable(w, []register.Approval{ap}) })
			}},
		command{name: "approval approve", args: "ID", help: "approve (the authority the approval policy names, in the approval's unit)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&note, "note", "", "note")
				fs.StringVar(&consent, "consent", "", "scope widening: the document number of the issuing unit's consent")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return c.decideWith(ctx, args, true, note, consent)
			}},
		command{name: "approval reject", args: "ID", help: "reject with a note",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&note, "note", "", "why (required)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if note == "" {
					return exitf(ExitUsage, "--note is required when rejecting")
				}
				return c.decide(ctx, args, false, note)
			}},

		// Handover sessions.
		command{name: "handover open", args: "", help: "open a handover at a desk: --desk D --purpose borrow|circulate|reading_room|take_out|return|transfer|archive|destroy|store|dispatch|receive",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&desk, "desk", "", "desk code")
				fs.StringVar(&purpose, "purpose", "", "borrow 借阅, circulate 传阅, reading_room 阅文室, take_out 携带外出, return 归还, transfer 移交, archive 归档, destroy 送销（交保密局）, store 扫描入柜（复制件）, dispatch 交机要交通, receive 退回入柜（传递退回）")
				fs.StringVar(&due, "due", "", "due time (borrow: required), e.g. 2026-11-30 18:00")
				fs.Int64Var(&approval, "approval", 0, "take_out: the approval ID")
				fs.Int64Var(&batch, "batch", 0, "destroy: the approved destruction batch")
				fs.StringVar(&cabinet, "cabinet", "", "return: cabinet the items go into (default: where they came from)")
				fs.StringVar(&target, "target-unit", "", "transfer: receiving unit")
				fs.StringVar(&place, "place", "", "reading room or destination")
				fs.StringVar(&receipt, "receipt", "", "transfer/archive: receipt number (default generated); destroy: the secrecy bureau's receipt number")
				fs.StringVar(&courier, "courier", "", "destroy: the secrecy bureau's courier (name)")
				fs.StringVar(&supervisor, "supervisor", "", "destroy: the person supervising the destruction (监销人)")
				fs.StringVar(&envelope, "envelope", "", "dispatch: the envelope number (信封编号、封号)")
				fs.StringVar(&destination, "destination", "", "dispatch, or transfer to a unit outside the register: the receiving unit, by name")
				fs.StringVar(&receiver, "receiver", "", "transfer to a unit outside the register: the receiver's name (签收人); --receipt is their receipt number")
				fs.StringVar(&expected, "expected", "", "dispatch: expected arrival, e.g. 2026-11-30 18:00 (the site's time zone)")
				fs.StringVar(&note, "note", "", "note")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if desk == "" || purpose == "" {
					return exitf(ExitUsage, "--desk and --purpose are required")
				}
				if p, ok := purposeNames[purpose]; ok {
					purpose = p
				}
				req := register.OpenRequest{Desk: desk, Purpose: purpose, Due: due, Approval: approval, Batch: batch, Cabinet: cabinet, TargetUnit: target, Place: place, Receipt: receipt, Note: note,
					Courier: courier, Supervisor: supervisor, Envelope: envelope, Destination: destination, Receiver: receiver, Expected: expected}
				var s register.Session
				if err := c.call(ctx, "POST", "/api/v1/sessions", req, &s); err != nil {
					return err
				}
				return c.output(s, func(w io.Writer) {
					c.sessionTable(w, s)
					line(w, c.say("请扫描对方工作证和文件标签：custodyctl handover scan %d CODE…\n", "scan the counterpart's badge and the labels: custodyctl handover scan %d CODE…\n"), s.ID)
				})
			}},
		command{name: "handover scan", args: "ID CODE...", help: "add scans (badge or item label, typed or pasted); --stdin reads one code per line until an empty line",
			flags: func(fs *flag.FlagSet) {
				fs.BoolVar(&fromStdin, "stdin", false, "read codes from standard input, one per line (a keyboard-wedge scanner)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := sessionPath(args, "/scans")
				if err != nil {
					return err
				}
				codes := args[1:]
				if len(codes) == 0 && !fromStdin {
					return exitf(ExitUsage, "give at least one CODE, or --stdin")
				}
				var last register.ScanResult
				failed := 0
				scanOne := func(code string) error {
					var res register.ScanResult
					if err := c.call(ctx, "POST", path, map[string]string{"data": code}, &res); err != nil {
						if ee, ok := err.(*exitError); ok && ee.code != ExitUnreachable && ee.code != ExitAuth {
							// A bad scan is reported and the others go on, as at the desk.
							fmt.Fprintf(c.Stderr, "custodyctl: %s: %s\n", code, ee.msg)
							failed++
							return nil
						}
						return err
					}
					last = res
					if !c.json {
						if res.Kind == "badge" {
							fmt.Fprintf(c.Stdout, c.say("对方：%s（%s）\n", "counterpart: %s (%s)\n"), res.Session.CounterpartName, res.Session.Counterpart)
						} else {
							fmt.Fprintf(c.Stdout, c.say("+ %s 第%d份（%s）  已扫描 %d 份\n", "+ %s copy %d (%s)  %d scanned\n"), res.Item.Document, res.Item.Copy, c.levelName(res.Item.Level), res.Session.Count)
						}
					}
					return nil
				}
				for _, code := range codes {
					if err := scanOne(code); err != nil {
						return err
					}
				}
				if fromStdin {
					for {
						line, err := c.readLine()
						if err != nil || strings.TrimSpace(line) == "" {
							break
						}
						if err := scanOne(strings.TrimSpace(line)); err != nil {
							return err
						}
					}
				}
				if c.json {
					if err := c.output(last, nil); err != nil {
						return err
					}
				}
				if failed > 0 {
					return exitf(ExitConflict, "%s", c.say(fmt.Sprintf("%d 个扫描未被接受", failed), fmt.Sprintf("%d scans were not accepted", failed)))
				}
				return nil
			}},
		command{name: "handover unscan", args: "ID ITEM", help: "take an item scanned by mistake out of an open handover",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "ID ITEM"); err != nil {
					return err
				}
				path, err := sessionPath(args, "/scans/"+url.PathEscape(args[1]))
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "DELETE", path, nil, func(w io.Writer, s register.Session) { c.sessionTable(w, s) })
			}},
		command{name: "handover show", args: "ID", help: "show a handover with its running count",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := sessionPath(args, "")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "GET", path, nil, func(w io.Writer, s register.Session) { c.sessionTable(w, s) })
			}},
		command{name: "handover list", help: "list handovers (--state open|closed|abandoned)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&purpose, "state", "", "only this state") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path := "/api/v1/sessions"
				if purpose != "" {
					path += "?state=" + url.QueryEscape(purpose)
				}
				var ss []register.Session
				if err := c.call(ctx, "GET", path, nil, &ss); err != nil {
					return err
				}
				return c.output(ss, func(w io.Writer) {
					fmt.Fprintln(w, c.say("编号\t工作台\t用途\t状态\t机要员\t对方\t份数\t开始时间", "ID\tDESK\tPURPOSE\tSTATE\tCUSTODIAN\tCOUNTERPART\tCOUNT\tOPENED"))
					for _, s := range ss {
						fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Desk, c.purposeName(s.Purpose), s.State, s.Custodian, s.Counterpart, s.Count, s.Opened)
					}
				})
			}},
		command{name: "handover close", args: "ID", help: "confirm the handover: the counterpart types the PIN (terminal, or a line of stdin); top-secret needs --second-badge and a second PIN line; a top-secret carry-out also --companion-badge and the companion's PIN",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&secondBadge, "second-badge", "", "the second custodian's badge code (top-secret: two-person rule)")
				fs.StringVar(&companionBadge, "companion-badge", "", "top-secret carry-out: the second named person's badge code")
				fs.BoolVar(&pinStdin, "pin-stdin", false, "read the PIN(s) from standard input")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := sessionPath(args, "/close")
				if err != nil {
					return err
				}
				req := register.CloseRequest{SecondBadge: secondBadge, CompanionBadge: companionBadge}
				// Scanning in, receiving back from transit, a dispatch to a courier and a transfer
				// to an outside unit have no counterpart here: nobody types a counterpart's PIN.
				var open register.Session
				if err := c.call(ctx, "GET", strings.TrimSuffix(path, "/close"), nil, &open); err != nil {
					return err
				}
				if open.Counterpart != "" {
					if req.PIN, err = c.password(pinStdin, "对方 PIN：", "Counterpart's PIN: "); err != nil {
						return err
					}
				}
				if companionBadge != "" {
					if req.CompanionPIN, err = c.password(pinStdin, "同行人 PIN：", "Companion's PIN: "); err != nil {
						return err
					}
				}
				if secondBadge != "" {
					if req.SecondPIN, err = c.password(pinStdin, "第二位机要员 PIN：", "Second custodian's PIN: "); err != nil {
						return err
					}
				}
				var s register.Session
				if err := c.call(ctx, "POST", path, req, &s); err != nil {
					return err
				}
				return c.output(s, func(w io.Writer) {
					line(w, c.say("交接 %d 已完成：%d 份，已登记并记入审计日志。打印交接单：custodyctl handover receipt %d -o 交接单.pdf\n",
						"handover %d done: %d items registered and audited. Print the receipt: custodyctl handover receipt %d -o receipt.pdf\n"), s.ID, s.Count, s.ID)
					c.sessionTable(w, s)
				})
			}},
		command{name: "handover abandon", args: "ID", help: "abandon a handover; nothing changes",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&reason, "reason", "", "why") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := sessionPath(args, "/abandon")
				if err != nil {
					return err
				}
				var s register.Session
				if err := c.call(ctx, "POST", path, map[string]string{"reason": reason}, &s); err != nil {
					return err
				}
				return c.output(s, func(w io.Writer) {
					line(w, c.say("交接 %d 已放弃，未作任何更改\n", "handover %d abandoned; nothing changed\n"), s.ID)
				})
			}},
		command{name: "handover receipt", args: "ID", help: "the printable receipt (PDF, or --format csv) to -o FILE",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&out, "o", "", "output file (default stdout)")
				fs.StringVar(&format, "format", "pdf", "pdf or csv")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := sessionPath(args, "/receipt?format="+url.QueryEscape(format))
				if err != nil {
					return err
				}
				return c.download(ctx, path, out)
			}},

		// Flows outside a desk session.
		command{name: "document receive", args: "", help: "receive a document (收文): register it and store its copies in --cabinet",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&document, "number", "", "document number (发文字号)")
				fs.StringVar(&note, "title", "", "title")
				fs.StringVar(&unit, "unit", "", "issuing unit code")
				fs.StringVar(&kind, "level", "", "secrecy level: 绝密|机密|秘密")
				fs.StringVar(&due, "date", "", "date issued, YYYY-MM-DD")
				fs.StringVar(&reason, "term", "", "secrecy term (保密期限)")
				fs.IntVar(&copies, "copies", 0, "total copies the issuer printed (共 N 份)")
				fs.IntVar(&firstCopy, "first-copy", 0, "份号 printed on the first copy of this batch (default 1)")
				fs.IntVar(&lastCopy, "last-copy", 0, "份号 printed on the last copy of this batch (default --copies)")
				fs.Var(fresh(&scopeUnits), "scope-unit", "unit allowed to read (repeatable)")
				fs.Var(fresh(&scopePeople), "scope-person", "person allowed to read (repeatable)")
				fs.StringVar(&cabinet, "cabinet", "", "cabinet code")
				fs.StringVar(&forWho, "from", "", "who delivered it")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				req := register.ReceiveRequest{Cabinet: cabinet, From: forWho, Document: register.Document{Number: document, Title: note, IssuingUnit: unit,
					Level: custody.Level(kind), IssuedOn: due, SecrecyTerm: reason, Copies: copies, ScopeUnits: scopeUnits, ScopePeople: scopePeople},
					FirstCopy: firstCopy, LastCopy: lastCopy}
				var resp register.ReceiveResult
				if err := c.call(ctx, "POST", "/api/v1/documents/receive", req, &resp); err != nil {
					return err
				}
				return c.output(resp, func(w io.Writer) {
					line(w, c.say("已收文 %s（%s），第%s份（共%d份），%d 份已入柜 %s：\n", "received %s (%s): copies %s of %d, %d stored in %s:\n"),
						resp.Document.Number, c.levelName(resp.Document.Level), resp.Batch, resp.Document.Copies, len(resp.Items), cabinet)
					c.itemTable(w, resp.Items)
					line(w, c.say("下一步：为这 %d 份打印标签并写入电子标签：\n  %s\n", "next: print labels and encode tags for these %d copies:\n  %s\n"), len(resp.Items), resp.Next.Labels)
				})
			}},
		command{name: "document scope", args: "", help: "widen a readership scope under the issuing unit's approval (--approval)",
			flags: func(fs *flag.FlagSet) { fs.Int64Var(&approval, "approval", 0, "approval ID (kind scope)") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var d register.Document
				if err := c.call(ctx, "POST", "/api/v1/scope-widenings", map[string]int64{"approval": approval}, &d); err != nil {
					return err
				}
				return c.output(d, func(w io.Writer) {
					line(w, c.say("%s 知悉范围：单位 %s；人员 %s\n", "%s readership scope: units %s; people %s\n"), d.Number, strings.Join(d.ScopeUnits, ","), strings.Join(d.ScopePeople, ","))
				})
			}},
		command{name: "item reproduce", args: "", help: "make the copies an approved reproduction allows (--approval, --cabinet)",
			flags: func(fs *flag.FlagSet) {
				fs.Int64Var(&approval, "approval", 0, "approval ID (kind reproduce)")
				fs.StringVar(&cabinet, "cabinet", "", "cabinet the copies go into when scanned in")
				fs.StringVar(&unit, "unit", "", "复制单位: the unit that made the copies")
				fs.StringVar(&due, "date", "", "date the copies were made, YYYY-MM-DD (default today)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var its []register.Item
				if err := c.call(ctx, "POST", "/api/v1/reproductions", register.ReproduceRequest{Approval: approval, Cabinet: cabinet, Unit: unit, Date: due}, &its); err != nil {
					return err
				}
				return c.output(its, func(w io.Writer) {
					line(w, c.say("已复制 %d 份（与原件同密级，标为复制件）：\n", "%d copies made (at the source's level, marked 复制件):\n"), len(its))
					c.itemTable(w, its)
					line(w, c.say("下一步：打印标签，再在工作台扫描入柜：custodyctl handover open --desk D --purpose store --cabinet %s\n", "next: print their labels, then scan them in at a desk: custodyctl handover open --desk D --purpose store --cabinet %s\n"), cabinet)
				})
			}},
		command{name: "item lost", args: "ID...", help: "report items lost at once (--note: when, where, how)",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&note, "note", "", "what happened") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				ids, err := parseIDs(args)
				if err != nil {
					return err
				}
				// The API answers the loss case the report opened (追查), not a list of items.
				var lc lossCase
				if err := c.call(ctx, "POST", "/api/v1/losses", map[string]any{"items": ids, "note": note}, &lc); err != nil {
					return err
				}
				return c.output(lc, func(w io.Writer) {
					line(w, c.say("已报失，已立案追查 %d；请立即报告保密部门（custodyctl loss show %d）：\n", "reported lost; loss case %d opened — tell the secrecy office at once (custodyctl loss show %d):\n"), lc.ID, lc.ID)
					c.copyTable(w, lc.Items)
				})
			}},
		command{name: "item recover", args: "ID...", help: "put lost items that were found back into --cabinet (--note: where and how)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&cabinet, "cabinet", "", "cabinet code")
				fs.StringVar(&note, "note", "", "how they were found")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				ids, err := parseIDs(args)
				if err != nil {
					return err
				}
				var its []register.Item
				if err := c.call(ctx, "POST", "/api/v1/recoveries", map[string]any{"items": ids, "cabinet": cabinet, "note": note}, &its); err != nil {
					return err
				}
				return c.output(its, func(w io.Writer) {
					line(w, "%s\n", c.say("已找回入柜：", "recovered and stored:"))
					c.itemTable(w, its)
				})
			}},
		command{name: "item history", args: "ID", help: "an item's chain of custody",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/items", "/history")
				if err != nil {
					return err
				}
				var evs []register.Event
				if err := c.call(ctx, "GET", path, nil, &evs); err != nil {
					return err
				}
				return c.output(evs, func(w io.Writer) {
					fmt.Fprintln(w, c.say("时间\t操作\t原状态\t新状态\t经办人\t对方\t交接\t备注", "AT\tACTION\tFROM\tTO\tACTOR\tCOUNTERPART\tHANDOVER\tNOTE"))
					for _, e := range evs {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.when(e.At), c.actionName(e.Action), e.From.Text().In(c.lang), e.To.Text().In(c.lang), e.Actor, e.Counterpart, zeroBlank(e.Session), e.Note)
					}
				})
			}},

		// Destruction batches.
		command{name: "destruction create", args: "ITEM...", help: "list items for destruction (造册); a leader of the unit approves",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&reason, "reason", "", "reason")
				fs.StringVar(&unit, "unit", "", "unit whose leader approves (default: mine)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				ids, err := parseIDs(args)
				if err != nil {
					return err
				}
				var b register.Batch
				if err := c.call(ctx, "POST", "/api/v1/destructions", register.BatchRequest{Items: ids, Reason: reason, Unit: unit}, &b); err != nil {
					return err
				}
				return c.output(b, func(w io.Writer) {
					line(w, c.say("销毁批次 %d 已造册（%d 份），待领导审批：custodyctl approval approve %d\n", "destruction batch %d listed (%d items); a leader approves: custodyctl approval approve %d\n"), b.ID, len(b.Items), b.Approval)
				})
			}},
		command{name: "destruction list", help: "list destruction batches",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				var bs []register.Batch
				if err := c.call(ctx, "GET", "/api/v1/destructions", nil, &bs); err != nil {
					return err
				}
				return c.output(bs, func(w io.Writer) {
					fmt.Fprintln(w, c.say("批次\t状态\t份数\t审批\t造册人\t理由\t销毁时间", "BATCH\tSTATE\tITEMS\tAPPROVAL\tLISTED BY\tREASON\tDESTROYED"))
					for _, b := range bs {
						fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t%s\t%s\n", b.ID, b.State, len(b.Items), b.Approval, b.CreatedBy, b.Reason, b.Destroyed)
					}
				})
			}},
		command{name: "destruction cancel", args: "ID", help: "take a batch that was not destroyed off the list; its items go back to their cabinets",
			flags: func(fs *flag.FlagSet) { fs.StringVar(&reason, "reason", "", "why") },
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/destructions", "/cancel")
				if err != nil {
					return err
				}
				var b register.Batch
				if err := c.call(ctx, "POST", path, map[string]string{"reason": reason}, &b); err != nil {
					return err
				}
				return c.output(b, func(w io.Writer) {
					line(w, c.say("销毁批次 %d 已撤销\n", "destruction batch %d cancelled\n"), b.ID)
				})
			}},
		command{name: "destruction certify", args: "ID", help: "record the secrecy bureau's destruction certificate for a batch sent to it (送销): its copies become destroyed",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&certificate, "certificate", "", "the bureau's destruction certificate number")
				fs.StringVar(&note, "note", "", "note")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/destructions", "/certify")
				if err != nil {
					return err
				}
				var b register.Batch
				if err := c.call(ctx, "POST", path, map[string]string{"certificate": certificate, "note": note}, &b); err != nil {
					return err
				}
				return c.output(b, func(w io.Writer) {
					line(w, c.say("销毁批次 %d：已登记保密局销毁证明 %s，%d 份已销毁\n", "destruction batch %d: the bureau's certificate %s recorded, %d copies destroyed\n"), b.ID, b.CertificateNo, len(b.Items))
				})
			}},
		command{name: "destruction certificate", args: "ID", help: "the destruction certificate (PDF, or --format csv) to -o FILE",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&out, "o", "", "output file (default stdout)")
				fs.StringVar(&format, "format", "pdf", "pdf or csv")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/destructions", "/certificate?format="+url.QueryEscape(format))
				if err != nil {
					return err
				}
				return c.download(ctx, path, out)
			}},

		// Recall campaigns.
		command{name: "recall start", args: "", help: "start a recall campaign (清退): --name, --deadline, --document (repeatable)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&note, "name", "", "name of the campaign")
				fs.StringVar(&due, "deadline", "", "deadline, e.g. 2026-12-31 18:00")
				fs.Var(fresh(&scopeUnits), "document", "document number (repeatable)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return callAndPrint(c, ctx, "POST", "/api/v1/recalls", register.RecallRequest{Name: note, Deadline: due, Documents: scopeUnits}, func(w io.Writer, rc register.Recall) { c.recallTable(w, []register.Recall{rc}) })
			}},
		command{name: "recall list", help: "list recall campaigns with their progress",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				return callAndPrint(c, ctx, "GET", "/api/v1/recalls", nil, func(w io.Writer, rcs []register.Recall) { c.recallTable(w, rcs) })
			}},
		command{name: "recall show", args: "ID", help: "a campaign's progress; --format csv|pdf -o FILE for the printed list",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&out, "o", "", "output file (default stdout)")
				fs.StringVar(&format, "format", "", "csv or pdf (default: a table)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/recalls", "")
				if err != nil {
					return err
				}
				if format != "" {
					return c.download(ctx, path+"?format="+url.QueryEscape(format), out)
				}
				var rc register.Recall
				if err := c.call(ctx, "GET", path, nil, &rc); err != nil {
					return err
				}
				return c.output(rc, func(w io.Writer) {
					c.recallTable(w, []register.Recall{rc})
					line(w, "\n")
					fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t持有人\t状态\t已收回", "ID\tDOCUMENT\tCOPY\tHELD BY\tSTATE\tBACK"))
					for _, it := range rc.Items {
						back := c.say("否", "no")
						switch {
						case it.Lost: // counted apart, never as returned
							back = c.say("已报失", "reported lost")
						case it.Returned:
							back = c.say("是", "yes")
						}
						fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.Document, it.Copy, it.HeldBy, it.State.Text().In(c.lang), back)
					}
				})
			}},
		command{name: "recall close", args: "ID", help: "end a campaign (refused while items are out; over lost copies only a leader, with --note)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&note, "note", "", "the deciding leader's note over copies reported lost (处理意见)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				path, err := idPath(args, "/api/v1/recalls", "/close")
				if err != nil {
					return err
				}
				return callAndPrint(c, ctx, "POST", path, map[string]string{"note": note}, func(w io.Writer, rc register.Recall) { c.recallTable(w, []register.Recall{rc}) })
			}},

		// Personnel clearance.
		command{name: "person clearance", args: "USERNAME", help: "clearance list on a change of post: everything the person holds",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "USERNAME"); err != nil {
					return err
				}
				var cl register.Clearance
				if err := c.call(ctx, "GET", "/api/v1/people/"+url.PathEscape(args[0])+"/clearance", nil, &cl); err != nil {
					return err
				}
				return c.output(cl, func(w io.Writer) {
					if cl.Clear {
						line(w, c.say("%s（%s）名下没有涉密文件，可以办理离岗\n", "%s (%s) holds nothing and may leave the post\n"), cl.Name, cl.Person)
					} else {
						line(w, c.say("%s（%s）仍持有 %d 份，须全部交回：\n", "%s (%s) still holds %d items, all to be returned:\n"), cl.Name, cl.Person, len(cl.Holdings))
						c.itemTable(w, cl.Holdings)
					}
					if len(cl.Approvals) > 0 {
						line(w, c.say("未完结的审批 %d 项\n", "%d approvals still open\n"), len(cl.Approvals))
					}
				})
			}},
		command{name: "person close", args: "USERNAME", help: "close an account (refused while the person holds anything)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 1, "USERNAME"); err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(args[0])+"/close", nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say("已停用账号 "+args[0], "account "+args[0]+" closed"))
				return nil
			}},
		command{name: "person post", args: "USERNAME UNIT", help: "move a person to another unit (refused while they hold anything)",
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				if err := needArgs(args, 2, "USERNAME UNIT"); err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/api/v1/people/"+url.PathEscape(args[0])+"/post", map[string]string{"unit": args[1]}, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.Stdout, c.say(args[0]+" 已调至 "+args[1], args[0]+" moved to "+args[1]))
				return nil
			}},

		// Reports.
		command{name: "report ledger", args: "", help: "the register (台账): --unit, --level, --holder USERNAME, --held (holdings by person), --overdue; --format csv|pdf -o FILE",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&unit, "unit", "", "unit code")
				fs.StringVar(&kind, "level", "", "secrecy level")
				fs.StringVar(&forWho, "holder", "", "holdings of one person")
				fs.BoolVar(&pending, "overdue", false, "only items out past their due time")
				fs.BoolVar(&fromStdin, "held", false, "every item out with a person, by person (holdings per person)")
				fs.StringVar(&format, "format", "", "csv or pdf (default: a table)")
				fs.StringVar(&out, "o", "", "output file (default stdout)")
			},
			run: func(c *CLI, ctx context.Context, fs *flag.FlagSet, args []string) error {
				q := url.Values{}
				for k, v := range map[string]string{"unit": unit, "level": kind, "holder": forWho} {
					if v != "" {
						q.Set(k, v)
					}
				}
				if pending {
					q.Set("overdue", "1")
				}
				if fromStdin {
					q.Set("held", "1")
				}
				if format != "" {
					q.Set("format", format)
					return c.download(ctx, "/api/v1/reports/ledger?"+q.Encode(), out)
				}
				var rows []register.LedgerRow
				if err := c.call(ctx, "GET", "/api/v1/reports/ledger?"+q.Encode(), nil, &rows); err != nil {
					return err
				}
				return c.output(rows, func(w io.Writer) {
					fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t密级\t状态\t柜/持有人\t归还期限\t标题", "ID\tDOCUMENT\tCOPY\tLEVEL\tSTATE\tPLACE\tDUE\tTITLE"))
					for _, r := range rows {
						place := r.Cabinet
						if r.Holder != "" {
							place = r.Holder
						}
						fmt.Fprintf(w, "%d\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Document, r.Copy, r.Copies, c.levelName(r.Level), r.State.Text().In(c.lang), place, c.when(r.Due), r.Title)
					}
				})
			}},
	)
}

// line prints free text between tables: it flushes the rows so far, so a long sentence neither
// widens the columns around it nor joins a table with different columns.
func line(w io.Writer, format string, args ...any) {
	if t, ok := w.(*table); ok {
		t.Flush()
		fmt.Fprintf(t.w, format, args...)
		return
	}
	fmt.Fprintf(w, format, args...)
}

// fresh empties a list flag before a command's flags are parsed: flag.Var, unlike StringVar,
// does not reset the variable, and one process (a test) may run many commands.
func fresh(l *listFlag) *listFlag {
	*l = nil
	return l
}

func (c *CLI) decide(ctx context.Context, args []string, approve bool, note string) error {
	return c.decideWith(ctx, args, approve, note, "")
}

func (c *CLI) decideWith(ctx context.Context, args []string, approve bool, note, consent string) error {
	if err := needArgs(args, 1, "ID"); err != nil {
		return err
	}
	return callAndPrint(c, ctx, "POST", "/api/v1/approvals/"+url.PathEscape(args[0])+"/decide", map[string]any{"approve": approve, "note": note, "consent": consent}, func(w io.Writer, ap register.Approval) { c.approvalTable(w, []register.Approval{ap}) })
}

// download writes a paper (PDF or CSV) from the API to path, or to stdout for "".
func (c *CLI) download(ctx context.Context, path, out string) error {
	resp, err := c.send(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := c.receive(resp, out, "下载", "downloading"); err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintln(c.Stderr, c.say("已写入 "+out, "written to "+out))
	}
	return nil
}

func (c *CLI) purposeName(p string) string {
	if t := register.PurposeText(p); t.ZH != "" {
		return t.In(c.lang)
	}
	return p
}

func (c *CLI) actionName(a string) string {
	if t := custody.Action(a).Text(); t.ZH != "" {
		return t.In(c.lang)
	}
	if a == "reproduce" {
		return c.say("复制", "reproduce")
	}
	return a
}

func zeroBlank(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

func (c *CLI) sessionTable(w io.Writer, s register.Session) {
	state := map[string]string{"open": c.say("进行中", "open"), "closed": c.say("已完成", "closed"), "abandoned": c.say("已放弃", "abandoned")}[s.State]
	line(w, c.say("交接 %d  %s  工作台 %s  %s\n", "handover %d  %s  desk %s  %s\n"), s.ID, c.purposeName(s.Purpose), s.Desk, state)
	if s.Counterpart != "" {
		line(w, c.say("对方：%s（%s）\n", "counterpart: %s (%s)\n"), s.CounterpartName, s.Counterpart)
	}
	if s.Due != "" {
		line(w, c.say("归还期限：%s\n", "due: %s\n"), c.when(s.Due))
	}
	c.transitLines(w, s)
	line(w, c.say("已扫描：%d 份\n", "scanned: %d items\n"), s.Count)
	for _, x := range s.Rejected {
		line(w, c.say("未接受的扫描 %s（%s）：%s\n", "scan not accepted %s (%s): %s\n"), x.Scan, c.when(x.At), x.Reason.In(c.lang))
	}
	if len(s.Items) > 0 {
		items := make([]register.Item, len(s.Items))
		for i, si := range s.Items {
			items[i] = si.Item
		}
		c.itemTable(w, items)
	}
}

func (c *CLI) approvalTable(w io.Writer, aps []register.Approval) {
	fmt.Fprintln(w, c.say("编号\t类型\t状态\t审批单位\t申请人\t对象\t事由\t决定人\t意见\t有效期至", "ID\tKIND\tSTATE\tUNIT\tREQUESTED BY\tSUBJECT\tREASON\tDECIDED BY\tNOTE\tEXPIRES"))
	kinds := map[string][2]string{"take_out": {"携带外出", "take out"}, "reproduce": {"复制", "reproduce"}, "destruction": {"销毁", "destruction"}, "scope": {"扩大知悉范围", "widen scope"}}
	states := map[string][2]string{"pending": {"待审批", "pending"}, "approved": {"已批准", "approved"}, "rejected": {"已驳回", "rejected"}, "used": {"已使用", "used"}}
	for _, ap := range aps {
		if dt := ap.DeciderText; dt.ZH != "" {
			ap.Unit += " " + c.say(dt.ZH, dt.EN)
		}
		subject := ap.Document
		if len(ap.Items) > 0 {
			subject = fmt.Sprintf(c.say("%d 份", "%d items"), len(ap.Items))
		}
		if ap.For != "" {
			subject += " → " + ap.For
		}
		k, s := kinds[ap.Kind], states[ap.State]
		st := c.say(s[0], s[1])
		if ap.Expired && ap.State == "pending" {
			st = c.say("已过期", "expired")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ap.ID, c.say(k[0], k[1]), st, ap.Unit, ap.RequestedBy, subject, ap.Reason, ap.DecidedBy, ap.Note, c.when(ap.Expires))
	}
}

func (c *CLI) recallTable(w io.Writer, rcs []register.Recall) {
	fmt.Fprintln(w, c.say("编号\t名称\t截止时间\t状态\t进度", "ID\tNAME\tDEADLINE\tSTATE\tPROGRESS"))
	for _, rc := range rcs {
		st := c.say("进行中", "open")
		if rc.State == "closed" {
			st = c.say("已结束", "closed")
		}
		if rc.Overdue {
			st += c.say("（已逾期）", " (overdue)")
		}
		progress := fmt.Sprintf("%d/%d", rc.Returned, rc.Total)
		if rc.Lost > 0 {
			progress += c.say(fmt.Sprintf("（已报失 %d）", rc.Lost), fmt.Sprintf(" (%d reported lost)", rc.Lost))
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", rc.ID, rc.Name, c.when(rc.Deadline), st, progress)
	}
}
