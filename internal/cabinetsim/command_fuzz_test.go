package cabinetsim

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParseCommand: whatever a trainer types or a script holds, parseCommand answers a command
// of a known verb with its target, or an error naming the line; it never panics.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"tamper C-01", "tamper C-01 off", "mains C-02 off", "mains C-02 restored", "force C-03", "jam C-01", "jam C-01 off",
		"door C-01 open", "fault C-01 controller-silent off", "scan D-01 ]C0 CUS 1", "add C-01 2C14257BF460720000000005 2 0.5 -60", "", "jam", "force C-01 now"} {
		f.Add(s)
	}
	verbs := []string{"help", "devices", "quit", "door", "tamper", "mains", "force", "jam", "add", "remove", "scan", "fault", "vanish", "return"}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCommand(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", s)
			}
			return
		}
		if !slices.Contains(verbs, c.verb) {
			t.Fatalf("%q: parsed unknown verb %q", s, c.verb)
		}
		if c.target == "" && c.verb != "help" && c.verb != "devices" && c.verb != "quit" {
			t.Fatalf("%q: %s without a target", s, c.verb)
		}
		if c.verb == "mains" && c.args[0] != "lost" && c.args[0] != "restored" {
			t.Fatalf("%q: mains %q", s, c.args[0])
		}
		if c.verb == "tamper" && (len(c.args) != 1 || strings.TrimSpace(c.args[0]) == "") {
			t.Fatalf("%q: tamper args %q", s, c.args)
		}
	})
}
