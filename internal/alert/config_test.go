package alert

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/custodyhq/custody/internal/alert/notify"
)

func TestChannelsConfig(t *testing.T) {
	var empty ChannelsConfig
	def, units, err := empty.Build()
	if err != nil || len(def) != 0 || len(units) != 0 {
		t.Errorf("got %v %v %v from an empty config, want no channel at all (off until configured)", def, units, err)
	}
	const good = `
[mail]
addr = "smtp.unit.test:587"
from = "custody@unit.test"
[audience.custodian]
mail = ["jiyao@unit.test"]
[[audience.leaders.webhook]]
format = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=x"
secret = "SEC1"
[unit.BGS.custodian]
mail = ["bgs@unit.test"]
`
	var c ChannelsConfig
	if _, err := toml.Decode(good, &c); err != nil {
		t.Fatal(err)
	}
	def, units, err = c.Build()
	if err != nil {
		t.Fatal(err)
	}
	if len(def[Custodians]) != 1 || len(def[Leaders]) != 1 || len(def[SecrecyOffice]) != 0 || len(units["BGS"][Custodians]) != 1 {
		t.Errorf("got routes %v units %v, want mail for custodians, DingTalk for leaders, nothing for the secrecy office, BGS's own custodian", def, units)
	}
	// The mode each config gives the mailer: the port's convention, the key, the old alias.
	for cfg, want := range map[string]notify.TLSMode{
		"addr = \"smtp.unit.test:465\"":                             notify.TLSImplicit,
		"addr = \"smtp.unit.test:587\"":                             notify.TLSStartTLS,
		"addr = \"smtp.unit.test:2525\"\ntls = \"implicit\"":        notify.TLSImplicit,
		"addr = \"127.0.0.1:25\"\ntls = \"none\"\nusername = \"u\"": notify.TLSNone,
		"addr = \"127.0.0.1:25\"\ninsecure_no_tls = true":           notify.TLSNone,
	} {
		var c ChannelsConfig
		if _, err := toml.Decode("[mail]\nfrom = \"custody@unit.test\"\n"+cfg+"\n[audience.custodian]\nmail = [\"j@unit.test\"]\n", &c); err != nil {
			t.Fatal(err)
		}
		def, _, err := c.Build()
		if err != nil {
			t.Fatalf("%s: %v", cfg, err)
		}
		if m, ok := def[Custodians][0].(*notify.Mail); !ok || m.Mode != want {
			t.Errorf("%s: got %#v, want a mailer in mode %s", cfg, def[Custodians][0], want)
		}
	}
	for _, tc := range []struct{ cfg, key string }{
		{"[audience.boss]\nmail = [\"a@b.c\"]", "alerts.audience.boss"},
		{"[audience.custodian]\nmail = [\"a@b.c\"]", "alerts.audience.custodian.mail"},
		{"[mail]\naddr=\"x:25\"\nfrom=\"f@x\"\n[audience.custodian]\nmail = [\"not an address\"]", "alerts.audience.custodian.mail"},
		{"[[audience.leaders.webhook]]\nformat = \"slack\"\nurl = \"https://x\"", "alerts.audience.leaders.webhook[0].format"},
		{"[[unit.U2.leaders.webhook]]\nformat = \"wecom\"\nurl = \"ftp://x\"", "alerts.unit.U2.leaders.webhook[0].url"},
		{"[mail]\naddr = \"smtp.unit.test:465\"\ntls = \"ssl\"", "alerts.mail.tls"},
		{"[mail]\naddr = \"smtp.unit.test:587\"\ntls = \"starttls\"\ninsecure_no_tls = true", "alerts.mail.tls, alerts.mail.insecure_no_tls"},
		{"[mail]\naddr = \"smtp.unit.test:25\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"", "alerts.mail.tls"},
	} {
		var c ChannelsConfig
		if _, err := toml.Decode(tc.cfg, &c); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Build(); err == nil || !strings.HasPrefix(err.Error(), tc.key) {
			t.Errorf("got %v, want an error naming %s", err, tc.key)
		}
	}
}
