package register_test

import (
	"context"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// Issue 13, point 6: a title is shown only within the document's readership scope, to the
// leaders of the scope's units and to the custodians who keep it; a leader of another unit sees
// the number and the level only — in the documents list, the ledger (reports, exports) and
// handovers alike.
func TestTitlesFollowTheReadershipScope(t *testing.T) {
	t.Parallel()
	d := newDesk(t)
	ctx := context.Background()
	items := d.receive(t, "办〔2026〕701号", custody.Secret, 1, "BGS")
	const title = "关于办〔2026〕701号的绝密标题"
	for _, c := range []struct {
		user string
		sees bool
	}{{"wang.fang", true}, {"liu.qiang", true}, {"zhang.wei", true}, {"sun.li", false}, {"zhao.lei", false}} {
		a := d.p[c.user]
		docs, err := d.reg.Documents(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, doc := range docs {
			if doc.Number == "办〔2026〕701号" {
				got = doc.Title
				if doc.TitleVisible != c.sees {
					t.Errorf("%s: title_visible %v, want %v", c.user, doc.TitleVisible, c.sees)
				}
			}
		}
		if (got == title) != c.sees {
			t.Errorf("%s: documents list title %q, want shown %v", c.user, got, c.sees)
		}
		rows, err := d.reg.Ledger(ctx, a, register.LedgerFilter{})
		if err == nil {
			for _, r := range rows {
				if r.Document == "办〔2026〕701号" && (r.Title == title) != c.sees {
					t.Errorf("%s: ledger title %q, want shown %v", c.user, r.Title, c.sees)
				}
			}
		}
	}
	// A handover read by sun.li (KJC's leader) names the copy without its title.
	s := d.handover(t, register.OpenRequest{Purpose: register.PurposeBorrow, Due: d.due(24)}, "zhang.wei", items)
	got, err := d.reg.Session(ctx, d.p["sun.li"], s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Items[0].Title != "" || got.Items[0].Document != "办〔2026〕701号" {
		t.Errorf("handover for KJC's leader: got %q / %q, want the number without the title", got.Items[0].Document, got.Items[0].Title)
	}
	if mine, _ := d.reg.Session(ctx, d.p["liu.qiang"], s.ID); mine.Items[0].Title != title {
		t.Errorf("handover for BGS's leader: got title %q, want it", mine.Items[0].Title)
	}
}
