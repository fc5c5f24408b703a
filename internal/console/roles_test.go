package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 13 in the console: a reader chooses their own badge PIN (the current one is needed once
// set), everyone reads the approval policy, and a page outside one's roles is refused and audited.
func TestBadgePINAndPolicyInTheConsole(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "zhang.wei")
	if code, _ := s.post(t, c, "/badge-pin", url.Values{"old_pin": {"0000"}, "new_pin": {"1357"}, "again_pin": {"1357"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("new PIN with a wrong current one: got %d, want 422", code)
	}
	if code, _ := s.post(t, c, "/badge-pin", url.Values{"old_pin": {"2468"}, "new_pin": {"1357"}, "again_pin": {"1357"}}); code != http.StatusOK {
		t.Errorf("new PIN: got %d, want 200", code)
	}
	if code, body := get(t, c, s.base+"/policy"); code != http.StatusOK || !strings.Contains(body, "单位主要领导") || !strings.Contains(body, "分管保密工作的领导") {
		t.Errorf("policy page: got %d, want the deciders listed", code)
	}
	before := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`)
	if code, _ := get(t, c, s.base+"/desk"); code != http.StatusForbidden {
		t.Errorf("desk page for a reader: got %d, want 403", code)
	}
	if after := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'zhang.wei'`); after != before+1 {
		t.Errorf("the refused page: %d refusal records, want %d", after, before+1)
	}
}

// count runs a count query on custodyd's database, read-only.
func (s *site) count(q string) int {
	s.t.Helper()
	db := s.db()
	defer db.Close()
	var n int
	if err := db.QueryRow(q).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}
