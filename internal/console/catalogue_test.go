package console

import (
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/reconcile"
)

// Every catalogue key the templates and the Go code name exists in both languages, and no
// template holds text of its own outside the catalogues (a CJK character in a template is a
// hard-coded text).
func TestCatalogueCoversEveryKey(t *testing.T) {
	u, err := loadUI(files)
	if err != nil {
		t.Fatal(err)
	}
	keyRe := regexp.MustCompile(`\.Tf? "([a-z_.]+)"`)
	dynRe := regexp.MustCompile(`"((?:error|login|password|alert|desk|register|terms|losses|loss|recalls|approval|batches|history|story)\.[a-z_.]+)"`)
	var used []string
	tmpl, _ := fs.Glob(files, "templates/*.html")
	cjk := regexp.MustCompile(`\p{Han}`)
	for _, n := range tmpl {
		b, _ := fs.ReadFile(files, n)
		for _, m := range keyRe.FindAllStringSubmatch(string(b), -1) {
			used = append(used, m[1])
		}
		// The language switch names each language in itself, the one allowed literal.
		if s := strings.ReplaceAll(string(b), "中文", ""); cjk.MatchString(s) {
			t.Errorf("%s: got Chinese text in the template, want it only in the catalogues", n)
		}
	}
	for _, src := range []string{"console.go", "pages.go", "desk.go", "registerpage.go", "cabinets.go", "flows.go", "lifecycle.go", "approvals.go", "history.go", "story.go"} {
		b, err := fs.ReadFile(osDir{}, src)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range dynRe.FindAllStringSubmatch(string(b), -1) {
			used = append(used, m[1])
		}
	}
	for _, st := range []string{stOffline, stMissed, stFindings, stNever, stComplete} {
		used = append(used, "cabinet.state."+st)
	}
	for _, k := range []string{"opened", "updated", "notified", "notify_failed", "acknowledged", "resolved", "suppressed", "released", "unrouted", "grew", "condition_ended", "linked", "incident", "inventory"} {
		used = append(used, "event."+k)
	}
	for _, k := range []string{"custodian", "leaders", "secrecy_office"} {
		used = append(used, "audience."+k)
	}
	used = append(used, "confidence.suspected", "confidence.confirmed", "cabinet.tone.critical", "cabinet.tone.suspected", "cabinet.tone.info", "alarm.title",
		"approval.kind.take_out", "approval.kind.reproduce", "approval.kind.destruction", "approval.kind.scope",
		"who.agent", "desk.source.typed", "desk.source.scanner", "policy.every_level")
	for _, st := range []string{"listed", "approved", "rejected", "sent", "destroyed"} {
		used = append(used, "batches.state_"+st)
	}
	for _, k := range []string{"read", "not_read", "not_read_confirmed", "removed", "elsewhere", "back"} {
		used = append(used, "seen."+k)
	}
	for _, st := range []string{"open", "closed", "abandoned"} {
		used = append(used, "session.state_"+st)
	}
	for _, k := range reconcile.Kinds { // every alert kind has its next steps (story.go)
		used = append(used, "steps."+string(k))
	}
	slices.Sort(used)
	used = slices.Compact(used)
	if len(used) < 100 {
		t.Fatalf("got %d keys in use, want the templates' keys found", len(used))
	}
	for _, k := range used {
		for _, lang := range languages {
			if _, ok := u.msgs[lang][k]; !ok {
				t.Errorf("key %q: got nothing in %s, want a text", k, lang)
			}
		}
	}
}

// A catalogue with a key the other lacks, or a nested table, is refused at start.
func TestCatalogueIsStrict(t *testing.T) {
	for name, cat := range map[string]string{
		"missing key": `"app.name" = "x"` + "\n" + `"only.here" = "y"`,
		"nested":      "[app]\nname = \"x\"",
	} {
		fsys := overlay{"messages/en.toml": cat}
		if _, err := loadUI(fsys); err == nil {
			t.Errorf("%s: got no error, want the catalogue refused", name)
		}
	}
}
