package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"
)

var sample = Notice{Ref: "AL-7K3M9QX2PA", Severity: "critical", Place: "C-01", At: time.Date(2026, 11, 25, 18, 2, 0, 0, time.UTC), State: "open", Link: "https://console.unit.test/alerts/AL-7K3M9QX2PA"}

type hit struct {
	URL  *url.URL
	Body string
	Head http.Header
}

// robot is an httptest server answering like the robot platforms do.
func robot(t *testing.T, answer string) (*httptest.Server, func() []hit) {
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.URL, string(b), r.Header.Clone()})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []hit { mu.Lock(); defer mu.Unlock(); return append([]hit(nil), hits...) }
}

const wantText = "【涉密载体告警】编号 AL-7K3M9QX2PA，级别 紧急，位置 C-01，时间 2026-11-26 02:02:00（北京时间）。请登录控制台查看：https://console.unit.test/alerts/AL-7K3M9QX2PA\n" +
	"Custody alert AL-7K3M9QX2PA, severity critical, at C-01, 2026-11-26 02:02:00 Beijing time. Details in the console only: https://console.unit.test/alerts/AL-7K3M9QX2PA"

func TestWebhookBodies(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	fixed := func() time.Time { return time.UnixMilli(1764093720123) }
	jsonText := strings.ReplaceAll(wantText, "\n", `\n`)
	for _, tc := range []struct {
		format Format
		secret string
		answer string
		want   string
		check  func(t *testing.T, h hit)
	}{
		{Generic, "", `{}`, `{"id":"AL-7K3M9QX2PA","severity":"critical","place":"C-01","at":"2026-11-25T18:02:00Z","state":"open","link":"https://console.unit.test/alerts/AL-7K3M9QX2PA"}`, nil},
		{Generic, "s3cret", `{}`, `{"id":"AL-7K3M9QX2PA","severity":"critical","place":"C-01","at":"2026-11-25T18:02:00Z","state":"open","link":"https://console.unit.test/alerts/AL-7K3M9QX2PA"}`,
			func(t *testing.T, h hit) {
				m := hmac.New(sha256.New, []byte("s3cret"))
				m.Write([]byte(h.Body))
				if got, want := h.Head.Get("X-Custody-Signature"), strings.ToLower(string(hexOf(m.Sum(nil)))); got != want {
					t.Errorf("got signature %q, want %q", got, want)
				}
			}},
		{WeCom, "", `{"errcode":0,"errmsg":"ok"}`, `{"msgtype":"text","text":{"content":"` + jsonText + `"}}`, nil},
		{DingTalk, "SEC0123456789abcdef", `{"errcode":0,"errmsg":"ok"}`, `{"msgtype":"text","text":{"content":"` + jsonText + `"}}`,
			func(t *testing.T, h hit) {
				q := h.URL.Query()
				if q.Get("access_token") != "tok" || q.Get("timestamp") != "1764093720123" {
					t.Errorf("got query %v, want the access token and the millisecond timestamp", q)
				}
				m := hmac.New(sha256.New, []byte("SEC0123456789abcdef"))
				m.Write([]byte("1764093720123\nSEC0123456789abcdef"))
				if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); q.Get("sign") != want {
					t.Errorf("got sign %q, want %q", q.Get("sign"), want)
				}
			}},
		{Feishu, "fs-secret", `{"code":0,"msg":"success"}`, "", func(t *testing.T, h hit) {
			m := hmac.New(sha256.New, []byte("1764093720\nfs-secret"))
			sign := base64.StdEncoding.EncodeToString(m.Sum(nil))
			want := `{"content":{"text":"` + jsonText + `"},"msg_type":"text","sign":"` + sign + `","timestamp":"1764093720"}`
			if h.Body != want {
				t.Errorf("got body\n%s\nwant\n%s", h.Body, want)
			}
		}},
	} {
		t.Run(string(tc.format)+"/"+tc.secret, func(t *testing.T) {
			srv, hits := robot(t, tc.answer)
			w := &Webhook{URL: srv.URL + "/robot/send?access_token=tok", Format: tc.format, Secret: tc.secret, Location: shanghai, Now: fixed}
			if err := w.Send(context.Background(), sample); err != nil {
				t.Fatal(err)
			}
			h := hits()
			if len(h) != 1 {
				t.Fatalf("got %d requests, want 1", len(h))
			}
			if tc.want != "" && h[0].Body != tc.want {
				t.Errorf("got body\n%s\nwant\n%s", h[0].Body, tc.want)
			}
			if ct := h[0].Head.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("got Content-Type %q, want JSON", ct)
			}
			if tc.check != nil {
				tc.check(t, h[0])
			}
		})
	}
}

func TestRobotRefusalIsAnError(t *testing.T) {
	for _, tc := range []struct {
		format Format
		answer string
	}{{DingTalk, `{"errcode":310000,"errmsg":"sign not match"}`}, {WeCom, `{"errcode":93000,"errmsg":"invalid webhook url"}`}, {Feishu, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`}} {
		srv, _ := robot(t, tc.answer)
		err := (&Webhook{URL: srv.URL, Format: tc.format}).Send(context.Background(), sample)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: got %v, want a refusal error", tc.format, err)
		}
	}
	if _, _, err := (&Webhook{URL: "http://x", Format: "slack"}).Request(sample); err == nil {
		t.Error("got no error for an unknown format, want one")
	}
}

func hexOf(b []byte) []byte {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return out
}

// TestTextNamesTheSiteZone: both lines of a notice give the time in the site's zone and name the
// zone as the console does — never UTC, never the server's zone, never an abbreviation.
func TestTextNamesTheSiteZone(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, tc := range []struct {
		loc    *time.Location
		zh, en string
	}{
		{nil, "时间 2026-11-26 02:02:00（北京时间）", "at C-01, 2026-11-26 02:02:00 Beijing time."},
		{berlin, "时间 2026-11-25 19:02:00（Europe/Berlin (UTC+01:00)）", "at C-01, 2026-11-25 19:02:00 Europe/Berlin (UTC+01:00)."},
	} {
		got := Text(sample, tc.loc)
		zh, en, _ := strings.Cut(got, "\n")
		if !strings.Contains(zh, tc.zh) || !strings.Contains(en, tc.en) || strings.Contains(got, "18:02") || strings.Contains(got, "CST") {
			t.Errorf("Text in %v:\n%s\nwant %q and %q, and no UTC time", tc.loc, got, tc.zh, tc.en)
		}
	}
}
