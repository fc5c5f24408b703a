package daemon

import (
	"strings"
	"testing"
)

// custodyd refuses at start a mail mode it does not know, or one that would send the relay's
// password in clear, naming [alerts.mail] tls; the three modes load.
func TestMailTLSModeCheckedAtStart(t *testing.T) {
	const audience = "[alerts.audience.custodian]\nmail = [\"j@unit.test\"]\n"
	for _, mode := range []string{"implicit", "starttls", "none"} {
		if _, err := loadText(t, "[alerts.mail]\naddr = \"127.0.0.1:25\"\nfrom = \"c@unit.test\"\ntls = \""+mode+"\"\n"+audience); err != nil {
			t.Errorf("tls = %q: %v", mode, err)
		}
	}
	for text, want := range map[string]string{
		"[alerts.mail]\naddr = \"smtp.unit.test:465\"\nfrom = \"c@unit.test\"\ntls = \"ssl\"\n" + audience:                                     "alerts.mail.tls: \"ssl\": want implicit, starttls or none",
		"[alerts.mail]\naddr = \"smtp.unit.test:25\"\nfrom = \"c@unit.test\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\n" + audience: "alerts.mail.tls: \"none\" would send the password to smtp.unit.test:25 in clear",
	} {
		if _, err := loadText(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}
