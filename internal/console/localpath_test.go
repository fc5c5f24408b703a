package console

import "testing"

// The language switch's back link must stay on the console: issue 12 found
// back=/\evil.example sent a signed-in person off-site.
func TestLocalPathKeepsTheLanguageSwitchOnTheConsole(t *testing.T) {
	for back, want := range map[string]string{
		"/alerts/7?x=1":                 "/alerts/7?x=1",
		"/":                             "/",
		"":                              "/",
		"//evil.example":                "/",
		`/\evil.example`:                "/",
		`/a\b`:                          "/",
		"/\t/evil.example":              "/",
		"/\n/evil.example":              "/",
		"https://evil.example/":         "/",
		"evil.example":                  "/",
		"/x\x7f":                        "/",
		"/" + string(make([]byte, 600)): "/",
	} {
		if got := localPath(back); got != want {
			t.Errorf("localPath(%q): got %q, want %q", back, got, want)
		}
	}
}
