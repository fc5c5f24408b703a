package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Format is a webhook's body format.
type Format string

const (
	Generic  Format = "json"     // the Notice as JSON
	DingTalk Format = "dingtalk" // 钉钉自定义机器人
	WeCom    Format = "wecom"    // 企业微信群机器人
	Feishu   Format = "feishu"   // 飞书自定义机器人
)

// Webhook posts notices to a URL in one of the formats.
type Webhook struct {
	Label  string // names the channel in history, e.g. "dingtalk-leaders"
	URL    string
	Format Format
	// Secret signs the request where the format defines signing: DingTalk (timestamp and sign in
	// the URL) and Feishu (timestamp and sign in the body). For Generic it adds an
	// X-Custody-Signature header: hex HMAC-SHA256 of the body.
	Secret   string
	Client   *http.Client
	Location *time.Location
	// Now is the clock for signatures (nil: time.Now).
	Now func() time.Time
}

// Name names the channel.
func (w *Webhook) Name() string {
	if w.Label != "" {
		return w.Label
	}
	return "webhook-" + string(w.Format)
}

// Send posts one notice and checks the robot's answer (the robots answer 200 with an error code
// in the body when they refuse).
func (w *Webhook) Send(ctx context.Context, n Notice) error {
	target, body, err := w.Request(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", w.Name(), err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if w.Format == Generic && w.Secret != "" {
		m := hmac.New(sha256.New, []byte(w.Secret))
		m.Write(body)
		req.Header.Set("X-Custody-Signature", fmt.Sprintf("%x", m.Sum(nil)))
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", w.Name(), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d: %.200s", w.Name(), resp.StatusCode, answer)
	}
	if w.Format == Generic {
		return nil
	}
	var r struct {
		ErrCode *int   `json:"errcode"` // DingTalk, WeCom
		ErrMsg  string `json:"errmsg"`
		Code    *int   `json:"code"` // Feishu
		Msg     string `json:"msg"`
	}
	if err := json.Unmarshal(answer, &r); err != nil {
		return fmt.Errorf("%s: unreadable answer %.200q: %w", w.Name(), answer, err)
	}
	if r.ErrCode != nil && *r.ErrCode != 0 {
		return fmt.Errorf("%s: refused: %d %s", w.Name(), *r.ErrCode, r.ErrMsg)
	}
	if r.Code != nil && *r.Code != 0 {
		return fmt.Errorf("%s: refused: %d %s", w.Name(), *r.Code, r.Msg)
	}
	return nil
}

// Request builds the URL and body Send would post.
func (w *Webhook) Request(n Notice) (string, []byte, error) {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	text := Text(n, w.Location)
	var v any
	target := w.URL
	switch w.Format {
	case Generic:
		v = n
	case DingTalk:
		v = map[string]any{"msgtype": "text", "text": map[string]string{"content": text}}
		if w.Secret != "" {
			// https://open.dingtalk.com/document/robots/customize-robot-security-settings:
			// sign = urlEncode(base64(HmacSHA256(secret, timestamp + "\n" + secret))), ms timestamp.
			ts := strconv.FormatInt(now().UnixMilli(), 10)
			m := hmac.New(sha256.New, []byte(w.Secret))
			m.Write([]byte(ts + "\n" + w.Secret))
			u, err := url.Parse(w.URL)
			if err != nil {
				return "", nil, fmt.Errorf("%s: url: %w", w.Name(), err)
			}
			q := u.Query()
			q.Set("timestamp", ts)
			q.Set("sign", base64.StdEncoding.EncodeToString(m.Sum(nil)))
			u.RawQuery = q.Encode()
			target = u.String()
		}
	case WeCom:
		v = map[string]any{"msgtype": "text", "text": map[string]string{"content": text}}
	case Feishu:
		body := map[string]any{"msg_type": "text", "content": map[string]string{"text": text}}
		if w.Secret != "" {
			// https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot: the key is
			// timestamp + "\n" + secret, the message empty; seconds timestamp.
			ts := strconv.FormatInt(now().Unix(), 10)
			m := hmac.New(sha256.New, []byte(ts+"\n"+w.Secret))
			body["timestamp"] = ts
			body["sign"] = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
		v = body
	default:
		return "", nil, fmt.Errorf("webhook %q: unknown format %q (want json, dingtalk, wecom or feishu)", w.Name(), w.Format)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", nil, fmt.Errorf("%s: %w", w.Name(), err)
	}
	return target, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
