package console_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Histories and holdings (issue 21 point 5). A copy read by the cabinet and then lent to 张伟 at
// the desk has a page with its 流转记录 — the step, who, when (in the site's zone), the
// counterpart's signature with the badge, a link to the receipt — and the inventories that read
// it; the copy the cabinet missed says 未读到. The document's page lists its copies and their
// steps; 张伟's page lists what he holds and when it is due. People see only what the register
// lets them: a reader has no copy pages and only his own holdings (the refusal audited), and a
// title shows as text.
func TestHistoriesAndHoldings(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	s.inventory("r-history", s.epcs[1]) // every tag read but the second copy's
	waitFor(t, "the inventory stored", func() bool { return s.count(`SELECT count(*) FROM observations WHERE kind = 'inventory'`) > 0 })
	c := s.client()
	s.signIn(c, "wang.fang")
	zone, _ := time.LoadLocation("Asia/Shanghai")
	due := time.Now().In(zone).Add(48 * time.Hour).Truncate(time.Minute)
	s.post(t, c, "/desk/open", url.Values{"desk": {"D-01"}, "purpose": {"borrow"}, "due": {due.Format("2006-01-02T15:04")}})
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {"B-0042"}})
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {itoa(s.items[0])}})
	code, receipt := s.post(t, c, "/desk/D-01/close", url.Values{"pin": {"2468"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(receipt, "/receipts/") {
		t.Fatalf("lend copy %d to 张伟: got %d to %q", s.items[0], code, receipt)
	}
	dueText := due.Format("2006-01-02 15:04:05")

	_, page := get(t, c, fmt.Sprintf("%s/items/%d", s.base, s.items[0]))
	moves := section(page, `id="moves"`)
	for _, want := range []string{"借出", `href="/people/zhang.wei"`, `href="/people/wang.fang"`, "张伟（<code>B-0042</code>）（对方）", `href="` + receipt + `"`} {
		if !strings.Contains(moves, want) {
			t.Errorf("copy %d's 流转记录: want %q in %s", s.items[0], want, moves)
		}
	}
	if !strings.Contains(page, dueText) {
		t.Errorf("copy %d's page: want the due time %s in the site's zone", s.items[0], dueText)
	}
	if !strings.Contains(section(page, `id="sightings"`), "读到（天线 1）") {
		t.Errorf("copy %d's inventories: want the round that read it", s.items[0])
	}
	_, missed := get(t, c, fmt.Sprintf("%s/items/%d", s.base, s.items[1]))
	if !strings.Contains(section(missed, `id="sightings"`), "未读到") {
		t.Errorf("copy %d's inventories: want the round of its cabinet that did not read it", s.items[1])
	}

	doc := s.str(fmt.Sprintf(`SELECT document_id FROM items WHERE id = %d`, s.items[0]))
	_, dpage := get(t, c, s.base+"/documents/"+doc)
	for _, id := range s.items[:4] {
		if !strings.Contains(dpage, fmt.Sprintf(`<tr data-item="%d"><td><a href="/items/%d">`, id, id)) {
			t.Errorf("the document's page: want copy %d listed with a link", id)
		}
	}
	if !strings.Contains(section(dpage, `id="moves"`), "借出") {
		t.Error("the document's page: want its copies' steps")
	}

	_, holder := get(t, c, s.base+"/people/zhang.wei")
	if h := section(holder, `id="holdings"`); !strings.Contains(h, fmt.Sprintf(`href="/items/%d"`, s.items[0])) || !strings.Contains(h, dueText) {
		t.Errorf("张伟's page: want copy %d held, due %s: %s", s.items[0], dueText, h)
	}

	// A loss is reported from the copy's page, without typing its id.
	if code, loc := s.post(t, c, fmt.Sprintf("/items/%d/loss", s.items[3]), url.Values{"note": {"会后未找到"}}); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/losses/") {
		t.Errorf("report copy %d lost from its page: got %d to %q, want its loss case", s.items[3], code, loc)
	} else if _, lp := get(t, c, s.base+loc); !strings.Contains(lp, fmt.Sprintf(`href="/items/%d"`, s.items[3])) || !strings.Contains(lp, "会后未找到") {
		t.Errorf("the loss case %s: want copy %d linked and the note", loc, s.items[3])
	}

	// The reader: his own holdings, no copy pages, nobody else's holdings.
	r := s.client()
	s.signIn(r, "zhang.wei")
	if code, own := get(t, r, s.base+"/people/zhang.wei"); code != http.StatusOK || !strings.Contains(own, "现持有 1 份") || strings.Contains(own, `href="/items/`) {
		t.Errorf("张伟's own page: got %d, want 现持有 1 份 without links he cannot open", code)
	}
	refused := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`)
	if code, body := get(t, r, s.base+"/people/wang.fang"); code != http.StatusForbidden || !strings.Contains(body, "只能查看本人的清退清单") {
		t.Errorf("张伟 reading 王芳's holdings: got %d, want 403 只能查看本人的清退清单", code)
	}
	if code, _ := get(t, r, fmt.Sprintf("%s/items/%d", s.base, s.items[0])); code != http.StatusForbidden {
		t.Errorf("张伟 reading a copy's page: got %d, want 403", code)
	}
	if n := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`); n != refused+2 {
		t.Errorf("张伟's refused pages: %d refusal records, want %d", n, refused+2)
	}
	// A title is the register's to give, and shows as text.
	_, evil := get(t, c, fmt.Sprintf("%s/items/%d", s.base, s.evil))
	if strings.Contains(evil, "<script>window.pwned") || !strings.Contains(evil, "&lt;script&gt;window.pwned=1&lt;/script&gt;") {
		t.Error("the copy's page: the title's HTML reached the page unescaped, or no title")
	}
}

// section is the HTML element of page that starts with the attribute marker, to its table's end.
func section(page, marker string) string {
	i := strings.Index(page, marker)
	if i < 0 {
		return ""
	}
	j := strings.Index(page[i:], "</table>")
	if j < 0 {
		return page[i:]
	}
	return page[i : i+j]
}
