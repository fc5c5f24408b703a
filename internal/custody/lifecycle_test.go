package custody

import (
	"errors"
	"strings"
	"testing"
)

// allowed is the lifecycle of DESIGN.md §5 written out independently of the implementation's
// table: every (state, action, role) not listed here must be refused.
var allowed = []struct {
	from  State
	act   Action
	role  Role
	to    State
	about string
}{
	{Registered, Store, Custodian, InCabinet, "a registered copy is stored by the custodian"},
	{InCabinet, CheckOut, Custodian, CheckedOut, "the custodian lends to a holder"},
	{CheckedOut, Return, Custodian, InCabinet, "the holder returns it through the custodian"},
	{OutOfOffice, Return, Custodian, InCabinet, "back from outside, handed to the custodian at once"},
	{InCabinet, TakeOut, Custodian, OutOfOffice, "taken out with a leader's approval (checked in register)"},
	{InCabinet, Dispatch, Custodian, InTransit, "given to a courier"},
	{InTransit, Receive, Custodian, InCabinet, "courier delivers it back"},
	{InCabinet, TransferOut, Custodian, TransferredOut, "handed to another unit against a receipt"},
	{InTransit, TransferOut, Custodian, TransferredOut, "courier delivers it to another unit"},
	{InCabinet, ArchiveTransferTo, Custodian, TransferredOut, "archived"},
	{InCabinet, ListDestruction, Custodian, DestructionPending, "listed for destruction (造册)"},
	{DestructionPending, Unlist, Custodian, InCabinet, "taken off the list"},
	{DestructionPending, Destroy, Custodian, SentForDestruction, "an approved batch handed to the bureau (送销)"},
	{SentForDestruction, CertifyDestroyed, Custodian, Destroyed, "the bureau's certificate entered"},
	{InCabinet, Release, Custodian, Released, "a declassified document's copy released (checked in register)"},
	{SentForDestruction, ReportLost, Custodian, Lost, ""},
	{SentForDestruction, ReportLost, Leader, Lost, ""},
	{Registered, ReportLost, Custodian, Lost, "loss reported by the custodian"},
	{Registered, ReportLost, Leader, Lost, "loss reported by a leader"},
	{InCabinet, ReportLost, Custodian, Lost, ""},
	{InCabinet, ReportLost, Leader, Lost, ""},
	{CheckedOut, ReportLost, Custodian, Lost, ""},
	{CheckedOut, ReportLost, Leader, Lost, ""},
	{CheckedOut, ReportLost, Holder, Lost, "the holder reports a loss at once"},
	{OutOfOffice, ReportLost, Custodian, Lost, ""},
	{OutOfOffice, ReportLost, Leader, Lost, ""},
	{OutOfOffice, ReportLost, Holder, Lost, "lost while out of the office"},
	{InTransit, ReportLost, Custodian, Lost, ""},
	{InTransit, ReportLost, Leader, Lost, ""},
	{DestructionPending, ReportLost, Custodian, Lost, ""},
	{DestructionPending, ReportLost, Leader, Lost, ""},
	{Lost, Recover, Custodian, InCabinet, "a lost copy found and stored again"},
}

func TestLifecycleAllowed(t *testing.T) {
	for _, c := range allowed {
		got, err := Check(c.from, c.act, c.role)
		if err != nil {
			t.Errorf("%s --%s--> by %s (%s): refused: %v", c.from, c.act, c.role, c.about, err)
			continue
		}
		if got != c.to {
			t.Errorf("%s --%s--> by %s: got state %s, want %s", c.from, c.act, c.role, got, c.to)
		}
	}
}

// Every other combination of state, action and role is refused, with the right reason code.
func TestLifecycleRefused(t *testing.T) {
	type key struct {
		from State
		act  Action
		role Role
	}
	ok := map[key]bool{}
	edgeExists := map[edge]bool{}
	for _, c := range allowed {
		ok[key{c.from, c.act, c.role}] = true
		edgeExists[edge{c.from, c.act}] = true
	}
	refused := 0
	for _, s := range States {
		for _, a := range Actions {
			for _, r := range Roles {
				if ok[key{s, a, r}] {
					continue
				}
				_, err := Check(s, a, r)
				var ref *Refusal
				if !errors.As(err, &ref) {
					t.Fatalf("%s --%s--> by %s: got %v, want a refusal", s, a, r, err)
				}
				want := "wrong_state"
				switch {
				case a == Handover:
					want = "forbidden_action"
				case edgeExists[edge{s, a}]:
					want = "wrong_role"
				}
				if ref.Code != want {
					t.Errorf("%s --%s--> by %s: got refusal %q, want %q", s, a, r, ref.Code, want)
				}
				if ref.Reason.ZH == "" || ref.Reason.EN == "" {
					t.Errorf("%s --%s--> by %s: refusal without zh-CN and English reason", s, a, r)
				}
				refused++
			}
		}
	}
	if refused == 0 {
		t.Fatal("no combination was refused")
	}
}

func TestRefusalsSpeakToPeople(t *testing.T) {
	for _, c := range []struct {
		from State
		act  Action
		role Role
		zh   string
		en   string
	}{
		{CheckedOut, Handover, Holder, "不得在阅文人之间横传", "passing between readers is forbidden"},
		{InCabinet, Destroy, Custodian, "状态为“在柜”的文件不能送销", "cannot send for destruction an item that is In cabinet"},
		{InCabinet, CheckOut, Admin, "系统管理员无权执行“借出”", "a System administrator may not check out an item"},
		{Destroyed, Recover, Custodian, "状态为“已销毁”的文件不能找回入柜", "cannot recover and store an item that is Destroyed"},
	} {
		_, err := Check(c.from, c.act, c.role)
		var ref *Refusal
		if !errors.As(err, &ref) {
			t.Fatalf("%s/%s/%s: got %v, want refusal", c.from, c.act, c.role, err)
		}
		if !strings.Contains(ref.Reason.ZH, c.zh) || !strings.Contains(ref.Reason.EN, c.en) {
			t.Errorf("%s/%s/%s: got %q / %q, want to contain %q / %q", c.from, c.act, c.role, ref.Reason.ZH, ref.Reason.EN, c.zh, c.en)
		}
	}
}

func TestUnknownStateAndAction(t *testing.T) {
	if _, err := Check("shredded", Store, Custodian); err == nil {
		t.Error("unknown state accepted")
	}
	if _, err := Check(InCabinet, "burn", Custodian); err == nil {
		t.Error("unknown action accepted")
	}
}

func TestThreeMembersAreSeparate(t *testing.T) {
	for _, c := range []struct {
		roles []Role
		ok    bool
	}{
		{[]Role{Admin}, true},
		{[]Role{Custodian, Holder}, true},
		{[]Role{Leader, Holder}, true},
		{[]Role{Admin, Auditor}, false},
		{[]Role{SecAdmin, Auditor}, false},
		{[]Role{Admin, Custodian}, false},
		{[]Role{Auditor, Holder}, false},
		{[]Role{}, false},
		{[]Role{Holder, Holder}, false},
		{[]Role{"janitor"}, false},
	} {
		err := CheckRoles(c.roles)
		if (err == nil) != c.ok {
			t.Errorf("CheckRoles(%v): got %v, want ok=%v", c.roles, err, c.ok)
		}
	}
}

func TestParseLevelAcceptsChinese(t *testing.T) {
	for in, want := range map[string]Level{"绝密": TopSecret, "机密": Secret, "秘密": Confidential, "secret": Secret} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q): got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseLevel("内部"); err == nil {
		t.Error("ParseLevel(内部): got nil error, want refusal (not a state secret level)")
	}
	if TopSecret.Text().In("en-US") != "Top secret" || TopSecret.Text().In("") != "绝密" {
		t.Error("level text: want zh-CN by default and English on request")
	}
}
