package console_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/custodyhq/custody/internal/agent"
	"github.com/custodyhq/custody/internal/agent/config"
	"github.com/custodyhq/custody/internal/reader/sim"
)

// Receiving goes on to writing the tags (issue 21 point 7), pressed in Chromium as a custodian
// would: the copies just received are listed, the desk picked from a list, and 写入电子标签 sends
// the command through custodyd's broker to a real custody-agent whose station is a simulated
// R2000 on a pseudo-terminal. The blank tag on its pad then carries the copy's EPC, the page says
// so in the custodian's words, and the audit log has the encoding. With two tags on the pad the
// page says why nothing was written, and neither tag changed.
func TestBrowserEncodeTagsAfterReceiving(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	var enrolled struct{ Key string }
	s.api("admin", "POST", "/api/v1/agents", `{"id":"desk-302"}`, 201, &enrolled)
	s.api("wang.fang", "POST", "/api/v1/desks", `{"code":"D-02","name":"收文工作台","room":"R301","agent":"desk-302"}`, 201, nil)
	recv := s.receive(`{"number":"办〔2026〕12号","title":"关于标签的通知","issuing_unit":"BGS","level":"机密","issued_on":"2026-11-20","secrecy_term":"10年","copies":2}`)
	if len(recv) != 2 || recv[0].EPC == "" {
		t.Fatalf("received: got %+v, want 2 copies with EPCs", recv)
	}

	pad := stationAgent(t, s.cfg.MQTT.Listen, "desk-302", enrolled.Key, "D-02")
	blank := []sim.Tag{{EPC: "E2801160600002AA00000001", Antenna: 1}}
	if err := pad.SetTags(blank); err != nil {
		t.Fatal(err)
	}

	ctx := browser(t)
	s.browse(t, ctx, "wang.fang")
	first, second := recv[0], recv[1]
	press := func(item int64) string {
		t.Helper()
		row := fmt.Sprintf(`tr[data-item="%d"]`, item)
		for i, a := range []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(fmt.Sprintf("%s/receive/next?items=%d,%d", s.base, first.ID, second.ID)),
			chromedp.WaitVisible(chromedp.CSS(row + " select[name=desk]")),
			chromedp.SetValue(chromedp.CSS(row+" select[name=desk]"), "D-02"),
			chromedp.Click(chromedp.CSS(row + " button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS("main p.flash, main p.err")),
		} {
			if err := chromedp.Do(ctx, a); err != nil {
				t.Fatalf("press 写入电子标签 for item %d, step %d: %v; page: %s", item, i, err, text(ctx, "main"))
			}
		}
		return text(ctx, "main p.flash, main p.err")
	}

	said := press(first.ID)
	want := fmt.Sprintf("第 %d 号（办〔2026〕12号 第 1 份）的电子标签已在工作台 D-02 写好", first.ID)
	if !strings.Contains(said, want) {
		t.Fatalf("after pressing 写入电子标签: the page says %q, want %q", said, want)
	}
	if got := pad.Tags(); len(got) != 1 || got[0].EPC != strings.ToUpper(first.EPC) {
		t.Errorf("the tag on the pad: got %+v, want it to carry %s", got, first.EPC)
	}
	if n := s.count(fmt.Sprintf(`SELECT count(*) FROM audit WHERE action = 'item.encode' AND actor = 'wang.fang' AND subject = 'item:%d'`, first.ID)); n != 1 {
		t.Errorf("audit records of the encoding: got %d, want 1", n)
	}

	// Two tags on the pad: nothing is written, and the page says why.
	two := []sim.Tag{{EPC: "E2801160600002AA00000002", Antenna: 1}, {EPC: "E2801160600002AA00000003", Antenna: 1}}
	if err := pad.SetTags(two); err != nil {
		t.Fatal(err)
	}
	if said := press(second.ID); !strings.Contains(said, "2 张标签") {
		t.Errorf("two tags on the pad: the page says %q, want it to name the 2 tags", said)
	}
	for i, tag := range pad.Tags() {
		if tag.EPC != two[i].EPC {
			t.Errorf("two tags on the pad: tag %d now carries %s, want %s unchanged", i+1, tag.EPC, two[i].EPC)
		}
	}
	if n := s.count(fmt.Sprintf(`SELECT count(*) FROM audit WHERE action = 'item.encode' AND subject = 'item:%d'`, second.ID)); n != 0 {
		t.Errorf("audit records of an encoding that wrote nothing: got %d, want 0", n)
	}
}

// stationAgent runs a real custody-agent whose one reader is the tag-encoding station of desk,
// a simulated R2000 on a pseudo-terminal, connected to custodyd's embedded broker at addr. It
// returns, once the agent listens, the simulated reader, whose field is the station's pad.
func stationAgent(t *testing.T, addr, id, key, desk string) *sim.R2000 {
	t.Helper()
	r, err := sim.NewR2000(sim.Scenario{Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	path, stopReader, err := sim.ServePTY(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stopReader)
	cfg, err := config.Parse(fmt.Appendf(nil, `
[agent]
id = %q
key = %q
outbox = %q
[mqtt]
brokers = ["tcp://%s"]
username = %q
password = %q
max_reconnect_interval = "1s"
[[reader]]
id = "station"
driver = "r2000"
port = %q
station = %q
[schedule]
every = "0s"
after_power_return = false
`, id, key, filepath.Join(t.TempDir(), "outbox.db"), addr, id, key, path, desk), "station.toml")
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.Open(context.Background(), cfg, agent.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- ag.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran; ag.Close() })
	// A command sent before the agent first subscribed would be lost (it has no session yet),
	// and the custodian would be told the desk's agent did not answer.
	waitFor(t, "the station's agent to connect and open its reader", func() bool {
		h := ag.Health()
		return h.MQTT && h.Readers["station"].Connected
	})
	return r
}
