// Package alerttest holds the real parts the alert, schedule and API tests run against: a real SMTP
// server (emersion/go-smtp) and a real MQTT broker (mochi-mqtt) on 127.0.0.1, paho clients, a
// seeded register in a real SQLite file, and an injectable clock. Only tests import it.
package alerttest

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	smtp "github.com/emersion/go-smtp"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Clock is the injected clock: tests move it instead of sleeping.
type Clock struct {
	mu      sync.Mutex
	t       time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewClock starts the clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock and fires every Until that is due.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	var keep []waiter
	for _, w := range c.waiters {
		if !c.t.Before(w.at) {
			w.ch <- c.t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
	c.mu.Unlock()
}

// Until fires once the clock reaches t.
func (c *Clock) Until(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !c.t.Before(t) {
		ch <- c.t
		return ch
	}
	c.waiters = append(c.waiters, waiter{t, ch})
	return ch
}

// Waiting reports how many Until calls wait: a test knows the loop is parked before moving time.
func (c *Clock) Waiting() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.waiters) }

// OpenStore is a fresh register on the store the run asks for (storetest: SQLite, or
// PostgreSQL under CUSTODY_TEST_STORE=postgres), closed when t ends.
func OpenStore(t testing.TB) *store.Store {
	t.Helper()
	return storetest.Open(t)
}

// site is a seeded register: units, people, cabinets and items written straight into the schema
// of migration 0001 (the register's own API has no EPC step yet: labels are a later issue).
type Site struct {
	St    *store.Store
	Items map[string]int64 // "C-01/3" → item id
	EPCs  map[int64]string
}

// Our GS1 company prefix in the tests, and GDTI-96 EPCs under it (header 2C, filter 0,
// partition 5: 24-bit prefix 0951234 … the exact bits come from package epc).
const TestPrefix = "0614141"

func Seed(t testing.TB, st *store.Store, cabinets, perCabinet int, agentOf func(cab int) string) *Site {
	t.Helper()
	s := &Site{St: st, Items: map[string]int64{}, EPCs: map[int64]string{}}
	ctx := context.Background()
	now := store.FormatTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	// Ids are the store's own (INSERT … RETURNING id), never given: PostgreSQL's sequences do not
	// move past an id given by hand, so a later insert would collide with it.
	err := st.Write(ctx, func(tx *sql.Tx) error {
		ex := func(q string, args ...any) error { _, err := tx.ExecContext(ctx, q, args...); return err }
		id := func(q string, args ...any) (id int64, err error) {
			return id, tx.QueryRowContext(ctx, q+" RETURNING id", args...).Scan(&id)
		}
		unit, err := id(`INSERT INTO units(code, name, created_at) VALUES ('U1', '办公室', ?)`, now)
		if err != nil {
			return err
		}
		var creator int64
		for _, p := range []string{"custodian1", "zhangsan", "lisi"} {
			pid, err := id(`INSERT INTO people(username, name, unit_id, created_at) VALUES (?, ?, ?, ?)`, p, p, unit, now)
			if err != nil {
				return err
			}
			if creator == 0 {
				creator = pid
			}
		}
		cabinet := map[int]int64{}
		agents := map[string]bool{}
		for c := 1; c <= cabinets; c++ {
			a := agentOf(c)
			if !agents[a] {
				agents[a] = true
				if err := ex(`INSERT INTO agents(id, key, created_at) VALUES (?, ?, ?)`, a, []byte{0}, now); err != nil {
					return err
				}
			}
			if cabinet[c], err = id(`INSERT INTO cabinets(code, name, room, unit_id, agent_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`, CabCode(c), "柜", fmt.Sprintf("R-%d", (c+1)/2), unit, a, now); err != nil {
				return err
			}
		}
		docs, doc := 0, int64(0)
		for c := 1; c <= cabinets; c++ {
			for i := 1; i <= perCabinet; i++ {
				if (i-1)%10 == 0 {
					docs++
					level := []string{"secret", "confidential", "top-secret"}[docs%3]
					if doc, err = id(`INSERT INTO documents(number, title, issuing_unit_id, level, issued_on, secrecy_term, copies, created_by, created_at) VALUES (?, ?, ?, ?, '2026-01-01', '10年', 10, ?, ?)`,
						fmt.Sprintf("密发〔2026〕%d号", docs), fmt.Sprintf("关于第%d项绝密工程的通知", docs), unit, level, creator, now); err != nil {
						return err
					}
				}
				// The EPC's serial is the copy's place in the seed, which is its id in a new store.
				e := GDTI(t, uint64((c-1)*perCabinet+i))
				item, err := id(`INSERT INTO items(document_id, copy_no, state, cabinet_id, epc, updated_at) VALUES (?, ?, 'in_cabinet', ?, ?, ?)`, doc, (i-1)%10+1, cabinet[c], e, now)
				if err != nil {
					return err
				}
				s.Items[fmt.Sprintf("%s/%d", CabCode(c), i)] = item
				s.EPCs[item] = e
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	return s
}

func CabCode(c int) string { return fmt.Sprintf("C-%02d", c) }

// smtpServer is a real SMTP server (emersion/go-smtp) on 127.0.0.1 that keeps what it receives.
type SMTPServer struct {
	Addr string
	mu   sync.Mutex
	msgs []Received
}

type Received struct {
	From string
	To   []string
	Data []byte
}

func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

type smtpSession struct {
	srv *SMTPServer
	cur Received
}

func (s *smtpSession) Reset()        { s.cur = Received{} }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.cur.From = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.cur)
	s.srv.mu.Unlock()
	return nil
}

func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	srv := &SMTPServer{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: srv}, nil }))
	s.Domain = "mail.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(l) }()
	t.Cleanup(func() { s.Close(); <-done })
	return srv
}

// Body decodes a received mail's body (base64, as Mail writes it).
func (r Received) Body(t testing.TB) (subject, body string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(r.Data)))
	if err != nil {
		t.Fatalf("received mail: %v", err)
	}
	dec := new(mimeDecoder)
	subject = dec.header(m.Header.Get("Subject"))
	b, _ := io.ReadAll(m.Body)
	return subject, dec.base64(t, b)
}

// broker is the real MQTT broker (mochi-mqtt, as custodyd embeds it) on a free 127.0.0.1 port.
func StartBroker(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(broker.TCPListener(srv, "t", addr, nil)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return addr
}

// mqttClient is a paho client: the Publisher custodyd would hand the escalator, and a subscriber
// standing in for an internal integration.
type MQTTClient struct{ c paho.Client }

func DialMQTT(t testing.TB, addr, id string) *MQTTClient {
	t.Helper()
	o := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(id).SetConnectTimeout(5 * time.Second).SetOrderMatters(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &MQTTClient{c}
}

func (m *MQTTClient) Publish(ctx context.Context, topic string, payload []byte) error {
	tok := m.c.Publish(topic, 1, false, payload)
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *MQTTClient) Subscribe(t testing.TB, topic string) <-chan []byte {
	t.Helper()
	ch := make(chan []byte, 1024)
	tok := m.c.Subscribe(topic, 1, func(_ paho.Client, msg paho.Message) {
		select {
		case ch <- msg.Payload():
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", topic, tok.Error())
	}
	return ch
}

func GDTI(t testing.TB, serial uint64) string {
	t.Helper()
	e, err := (epc.Issuer{CompanyPrefix: TestPrefix, DocumentType: "12345", Filter: epc.FilterAllOthers}).ForItem(serial)
	if err != nil {
		t.Fatal(err)
	}
	return e.Hex()
}

type mimeDecoder struct{ mime.WordDecoder }

func (d *mimeDecoder) header(s string) string {
	out, err := d.DecodeHeader(s)
	if err != nil {
		return s
	}
	return out
}

func (d *mimeDecoder) base64(t testing.TB, b []byte) string {
	t.Helper()
	out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil {
		t.Fatalf("mail body is not base64: %v", err)
	}
	return string(out)
}

// allowAll lets every test client in: the broker's own auth and ACL are the broker package's
// business and are tested there.
type allowAll struct{ mqtt.HookBase }

func (h *allowAll) ID() string { return "allow-all-test" }
func (h *allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}
func (h *allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }
func (h *allowAll) OnACLCheck(*mqtt.Client, string, bool) bool              { return true }
