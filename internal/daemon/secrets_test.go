package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every secret can come from a file (*_file, for systemd's LoadCredential); both at once, or a
// file that is not there, is an error naming the key.
func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("from-a-file\n"), 0o600)
	c, err := loadText(t, "[mqtt]\npassword_file = \""+pw+"\"\n[http]\nmetrics_token_file = \""+pw+"\"\n"+
		"[alerts.mail]\naddr = \"smtp.unit.test:465\"\nfrom = \"c@unit.test\"\npassword_file = \""+pw+"\"\n"+
		"[alerts.audience.custodian]\nmail = [\"j@unit.test\"]\n[[alerts.audience.leaders.webhook]]\nformat = \"dingtalk\"\nurl_file = \""+pw+"-url\"\nsecret_file = \""+pw+"\"\n")
	if err == nil || !strings.Contains(err.Error(), "alerts.audience.leaders.webhook[0].url_file") {
		t.Fatalf("a missing url_file: %v, want an error naming alerts.audience.leaders.webhook[0].url_file", err)
	}
	os.WriteFile(pw+"-url", []byte("https://oapi.dingtalk.com/robot/send?access_token=tok\n"), 0o600)
	c, err = loadText(t, "[mqtt]\npassword_file = \""+pw+"\"\n[http]\nmetrics_token_file = \""+pw+"\"\n"+
		"[alerts.mail]\naddr = \"smtp.unit.test:465\"\nfrom = \"c@unit.test\"\npassword_file = \""+pw+"\"\n"+
		"[alerts.audience.custodian]\nmail = [\"j@unit.test\"]\n[[alerts.audience.leaders.webhook]]\nformat = \"dingtalk\"\nurl_file = \""+pw+"-url\"\nsecret_file = \""+pw+"\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := secret(c.MQTT.Password, c.MQTT.PasswordFile); got != "from-a-file" {
		t.Errorf("mqtt password from its file = %q", got)
	}
	for text, want := range map[string]string{
		"[mqtt]\npassword = \"x\"\npassword_file = \"" + pw + "\"\n":                                                                                            "mqtt.password, mqtt.password_file: set one, not both",
		"[mqtt]\nmonitor_password_file = \"/nonexistent/monitor\"\n":                                                                                            "mqtt.monitor_password_file",
		"[http]\nmetrics_token = \"a\"\nmetrics_token_file = \"" + pw + "\"\n":                                                                                  "http.metrics_token, http.metrics_token_file: set one, not both",
		"[alerts.mail]\naddr = \"s:25\"\nfrom = \"c@u.t\"\npassword = \"p\"\npassword_file = \"" + pw + "\"\n[alerts.audience.custodian]\nmail = [\"j@u.t\"]\n": "alerts.mail.password, alerts.mail.password_file: set one, not both",
	} {
		if _, err := loadText(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}
