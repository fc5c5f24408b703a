package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Search finds what people type (issue 21 point 6): a part of a document number (45号, 京保),
// the number with either bracket style (京保[2026]45号, 京保［2026］45号), a word of the title
// (the register page is the custodians' and leaders', who may read titles; the search looks only
// at the title the register gives the person) and the holder's name. Each found nothing before.
func TestSearchFindsWhatPeopleType(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	recv := s.receive(`{"number":"京保〔2026〕45号","title":"关于做好年终保密检查工作的通知","issuing_unit":"BGS","level":"秘密","issued_on":"2026-11-20","secrecy_term":"5年","copies":2}`)
	c := s.client()
	s.signIn(c, "wang.fang")
	s.openBorrowing(t, c)
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {"B-0042"}})
	s.post(t, c, "/desk/D-01/scan", url.Values{"code": {itoa(recv[0].ID)}})
	if code, loc := s.post(t, c, "/desk/D-01/close", url.Values{"pin": {"2468"}}); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/receipts/") {
		t.Fatalf("lend a copy to 张伟: got %d to %q", code, loc)
	}
	found := func(c *http.Client, q string) []string {
		code, body := get(t, c, s.base+"/register?q="+url.QueryEscape(q))
		if code != http.StatusOK {
			t.Fatalf("search %q: got %d", q, code)
		}
		var ids []string
		for _, part := range strings.Split(body, `<tr data-item="`)[1:] {
			ids = append(ids, part[:strings.Index(part, `"`)])
		}
		return ids
	}
	a, b := itoa(recv[0].ID), itoa(recv[1].ID)
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"45号", []string{a, b}},
		{"京保", []string{a, b}},
		{"年终保密检查", []string{a, b}},
		{"京保[2026]45号", []string{a, b}},
		{"京保［2026］45号", []string{a, b}},
		{"京保〔2026〕45号", []string{a, b}},
		{"张伟", []string{a}},
		{"京保 张伟", []string{a}},
		{"#" + b, []string{b}},
		{"京保〔2026〕46号", nil},
	} {
		if got := found(c, tc.q); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("custodian's search %q: got items %v, want %v", tc.q, got, tc.want)
		}
	}
}
