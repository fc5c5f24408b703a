package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/broker"
	"github.com/custodyhq/custody/internal/ingest"
	"github.com/custodyhq/custody/internal/lease"
	"github.com/custodyhq/custody/internal/mqttconn"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/schedule"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// site is everything behind the MQTT broker: ingest of the agents' observations, the
// reconciliation and alerting they drive, the nightly schedule and the desks' scanners.
type site struct {
	broker  *broker.Broker // nil with an external broker
	conn    *mqttconn.Conn // custodyd's one MQTT client: ingest consumes on it, commands and alerts go out on it
	ingest  *ingest.Ingest
	ingestP atomic.Pointer[ingest.Ingest] // ingest, for the broker's goroutines (set after the broker starts)
	alerts  *alert.Book                   // shared with the API and the console: a person's step wakes the escalator
	duties  *duties                       // the once-only work, run while this instance holds the lease
	runners []runner
}

type runner struct {
	name string
	run  func(context.Context) error
}

// handlers fans each stored batch out to every consumer; each only queues, so ingest's commit
// loop is never held up by one of them.
type handlers []ingest.Handler

func (h handlers) HandleObservations(ctx context.Context, obs []wire.Envelope) {
	for _, x := range h {
		x.HandleObservations(ctx, obs)
	}
}

func (h handlers) HandleAvailability(agent, state string, at time.Time) {
	for _, x := range h {
		if a, ok := x.(ingest.AvailabilityHandler); ok {
			a.HandleAvailability(agent, state, at)
		}
	}
}

// HandleRefusal passes an observation refused as not_bound (an agent speaking for a place not
// its own) to whoever records it as a security alert (the alert observer).
func (h handlers) HandleRefusal(r ingest.Refusal) {
	for _, x := range h {
		if f, ok := x.(interface{ HandleForgery(alert.Forgery) }); ok {
			f.HandleForgery(alert.Forgery{Agent: r.Agent, Kind: r.Kind, PlaceKind: r.PlaceKind, Place: r.Place, Owner: r.Owner, Seq: r.Seq, ID: r.ID, At: r.At})
		}
	}
}

func (d *Daemon) startSite(ctx context.Context, st *store.Store, reg *register.Register, registry *prometheus.Registry) (*site, error) {
	c := d.cfg.MQTT
	s := &site{}
	url, user := c.URL, c.Username
	pass, err := secret(c.Password, c.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("mqtt.password_file: %w", err)
	}
	if pass == "" {
		pass = d.getenv("CUSTODY_MQTT_PASSWORD")
	}
	var clientTLS *tls.Config
	if c.CAFile != "" {
		pool, err := loadCA(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.ca_file: %w", err)
		}
		clientTLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if url == "" {
		var serverTLS *tls.Config
		if c.TLSCert != "" {
			var err error
			if serverTLS, clientTLS, err = embeddedTLS(c.TLSCert, c.TLSKey); err != nil {
				return nil, fmt.Errorf("mqtt.tls_cert, mqtt.tls_key: %w", err)
			}
		}
		monitor, err := secret(c.Monitor, c.MonitorFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.monitor_password_file: %w", err)
		}
		if monitor == "" {
			monitor = d.getenv("CUSTODY_MQTT_MONITOR_PASSWORD")
		}
		// The broker starts before ingest exists; a message it refuses for its size in between
		// is logged by the broker but cannot be counted, and a drop in between is covered by
		// ingest's resync of every agent when it first subscribes.
		oversized := func(string) {
			if in := s.ingestP.Load(); in != nil {
				in.CountOversized()
			}
		}
		dropped := func(int64) {
			if in := s.ingestP.Load(); in != nil {
				in.LostInTransit("the broker dropped messages queued for a full subscriber")
			}
		}
		b, err := broker.Start(ctx, broker.Config{Listen: c.Listen, Base: c.Base, TLS: serverTLS, MonitorPassword: monitor, Oversized: oversized, Dropped: dropped}, st, d.log)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("mqtt.listen %s: the port is in use — another custodyd or broker runs there; set [mqtt] listen to a free port, or url to use that broker", c.Listen)
			}
			return nil, fmt.Errorf("mqtt.listen %s: start the embedded broker: %w", c.Listen, err)
		}
		s.broker = b
		url = b.URL()
		user, pass = b.InternalCredentials()
		d.log.Info("embedded mqtt broker started", "addr", b.Addr())
	}
	topics := wire.Topics{Base: c.Base}

	conn, err := mqttconn.New(mqttconn.Config{BrokerURL: url, Username: user, Password: pass, TLS: clientTLS, ClientID: c.ClientID, Base: c.Base, Share: c.Share, DisconnectGrace: c.DisconnectGrace.Duration},
		st, registry, d.log)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	s.conn = conn
	// The checker commands confirming inventories on the connection; it reads the stored
	// observations from the store while this instance leads (duties).
	cmd := alert.CommandSender(conn.Send)
	book := alert.NewBook(st, d.log, nil)
	s.alerts = book
	rc := d.cfg.Reconcile
	policy := reconcile.Policy{RemovalGrace: rc.RemovalGrace.Duration, MaxUnread: rc.MaxUnread}
	feed := reg.NewDeskFeed(256)
	du := &duties{st: st, reg: reg, book: book, cmd: cmd, policy: policy, prefix: d.cfg.Identity.CompanyPrefix,
		poll: d.cfg.Cluster.Poll.Duration, restore: rc.RemovalGrace.Duration + time.Hour, log: d.log,
		// The removal grace and an hour more: older door cycles were settled by a later round.
		wake: make(chan struct{}, 1), avail: map[string]availability{},
		standby: alert.NewChecker(st, book, cmd, policy, d.cfg.Identity.CompanyPrefix, d.log)}
	du.refusals = alert.NewObserver(du.standby, 0, d.log)
	du.audit = &auditWatch{st: st, book: book, every: d.cfg.Audit.VerifyEvery.Duration, log: d.log}
	s.duties = du

	in, err := ingest.New(ingest.Config{Base: c.Base, Places: reg}, conn, st, st, handlers{du, feed}, registry, d.log)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	s.ingest = in
	s.ingestP.Store(in)
	du.lost = in.LostInTransit

	channels := d.cfg.Alerts.ChannelsConfig
	channels.Zone = d.cfg.Zone()
	routes, units, err := channels.Build()
	if err != nil {
		s.close()
		return nil, fmt.Errorf("alerts: %w", err)
	}
	du.esc = alert.NewEscalator(book, conn, topics.Alerts(), routes, alert.Policy{LeaderDelay: d.cfg.Alerts.LeaderDelay.Duration, ConsoleURL: d.cfg.Alerts.ConsoleURL}, d.log)
	for u, r := range units {
		du.esc.UnitRoutes(u, r)
	}
	inv := d.cfg.Inventory
	week, _ := d.cfg.WorkWeek() // validated at load
	schCfg := schedule.Config{
		Spec: inv.Schedule, TimeZone: d.cfg.Zone().Name(), Deadline: inv.Deadline.Duration,
		WorkFrom: inv.WorkFrom.Duration, WorkTo: inv.WorkTo.Duration, WorkDays: week, Holidays: inv.Holidays, Workdays: inv.Workdays,
		DoorOpenLimit: inv.DoorOpenLimit.Duration, OfflineGrace: inv.OfflineGrace.Duration,
		SummaryTopic: topics.Summary(),
	}
	du.sched = func(chk *alert.Checker) (*schedule.Scheduler, error) {
		return schedule.New(st, chk, book, cmd, conn, schCfg, schedule.RealClock{}, d.log)
	}
	if _, err := du.sched(du.standby); err != nil { // the schedule's settings are checked at start, not at the first lease
		s.close()
		return nil, fmt.Errorf("inventory: %w", err)
	}
	if d.cfg.Audit.HeadKey != "" {
		signer, err := loadHeadKey(d.cfg.Audit.HeadKey, d.cfg.CryptoProfile())
		if err != nil {
			s.close()
			return nil, fmt.Errorf("audit.head_key: %w", err)
		}
		du.heads = &headSigner{st: st, signer: signer, dir: d.cfg.Audit.HeadDir, every: d.cfg.Audit.HeadEvery.Duration, log: d.log}
	}
	ls, err := lease.New(st, d.cfg.LeaseConfig(defaultInstance(d.cfg.DataDir)), d.log)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	ls.SetMark(du.mark.Load)
	du.lease = ls
	// Ingest, the desks' scans (and the API and console) run on every instance; the duties on
	// the one holding the lease.
	s.runners = []runner{
		{"mqtt", conn.Run}, {"ingest", in.Run}, {"desk scans", feed.Run}, {"lease", func(ctx context.Context) error { return ls.Run(ctx, du.lead) }},
		{"refusals while standing by", du.refusals.Run},
	}
	return s, nil
}

func loadCA(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// embeddedTLS loads the embedded broker's certificate. custodyd's own client dials the listener
// by address, which the certificate need not name, so instead of checking names it pins the very
// certificate the broker was given.
func embeddedTLS(certFile, keyFile string) (server, client *tls.Config, err error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	leaf := cert.Certificate[0]
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, leaf) {
				return errors.New("the broker did not present custodyd's own certificate")
			}
			return nil
		},
	}
	return server, client, nil
}

// revoked is told of an agent's revocation: out of the broker now, and its key forgotten.
func (s *site) revoked(id string) {
	if s.broker != nil {
		s.broker.DisconnectAgent(id)
	}
	s.ingest.Invalidate(id)
}

// rebound is told that a cabinet or desk was bound to another agent: ingest asks the register
// again before it accepts the next observation about any place.
func (s *site) rebound() { s.ingest.InvalidatePlaces() }

func (s *site) close() {
	if s.broker != nil {
		s.broker.Close()
	}
}

// defaultInstance names this custodyd in the lease when [cluster] instance is not set: the host
// and its data directory. One process at a time holds a data directory (lockDataDir), so the
// name is this instance's alone, and it is the same after a restart — a custodyd restarted after
// a crash takes its own lease back at once instead of waiting out the dead process's TTL, the
// seconds in which no alarm would be raised.
func defaultInstance(dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	sum := sha256.Sum256([]byte(dataDir))
	return fmt.Sprintf("%s:%x", host, sum[:4])
}
