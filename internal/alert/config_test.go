package alert

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
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
	for _, tc := range []struct{ cfg, key string }{
		{"[audience.boss]\nmail = [\"a@b.c\"]", "alerts.audience.boss"},
		{"[audience.custodian]\nmail = [\"a@b.c\"]", "alerts.audience.custodian.mail"},
		{"[mail]\naddr=\"x:25\"\nfrom=\"f@x\"\n[audience.custodian]\nmail = [\"not an address\"]", "alerts.audience.custodian.mail"},
		{"[[audience.leaders.webhook]]\nformat = \"slack\"\nurl = \"https://x\"", "alerts.audience.leaders.webhook[0].format"},
		{"[[unit.U2.leaders.webhook]]\nformat = \"wecom\"\nurl = \"ftp://x\"", "alerts.unit.U2.leaders.webhook[0].url"},
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
