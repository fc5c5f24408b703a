package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/console"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// Daemon is a configured custodyd.
type Daemon struct {
	cfg    Config
	log    *slog.Logger
	out    io.Writer // where the one-time admin password is printed
	getenv func(string) string

	// Ready, if not nil, receives the HTTP address once custodyd serves.
	Ready chan<- string
}

// New returns a daemon; out receives the bootstrap banner (stdout in production).
func New(cfg Config, log *slog.Logger, out io.Writer, getenv func(string) string) *Daemon {
	return &Daemon{cfg: cfg, log: log, out: out, getenv: getenv}
}

// Run serves until ctx is cancelled.
func (d *Daemon) Run(ctx context.Context) error {
	d.cleanBackups()
	lock, err := lockDataDir(d.cfg.DataDir)
	if err != nil {
		return err
	}
	defer lock.Close()
	st, err := store.Open(ctx, d.cfg.StoreTarget(), d.log)
	if err != nil {
		return err
	}
	defer st.Close()
	dbPath := st.Path() // without a URL's password
	d.log.Info("store opened", "store", st.Dialect().String(), "path", dbPath)

	res, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit chain in %s: %w — the register's history was edited outside custodyd; refusing to start", dbPath, err)
	}
	d.log.Info("audit chain verified", "records", res.Records, "head", res.Head)
	// [crypto] profile decides the hash of the records from now on; a chain sealed under another
	// switches at a marked record (audit.ActionProfile).
	if switched, err := st.UseProfile(ctx, d.cfg.CryptoProfile()); err != nil {
		return err
	} else if switched {
		seq, head := st.AuditHead()
		d.log.Warn("audit chain switched crypto profile", "profile", d.cfg.CryptoProfile().String(), "hash", d.cfg.CryptoProfile().ChainHash(), "seq", seq, "head", head)
	}

	reg := register.New(st, d.log)
	reg.SetZone(d.cfg.Zone())
	reg.SetLoginLock(d.cfg.HTTP.LoginLock.Duration)
	reg.SetBorrowLimits(d.cfg.BorrowLimits())
	reg.SetCheckPeriod(d.cfg.Check.Period)
	if d.cfg.Identity.CompanyPrefix != "" {
		reg.SetIssuer(d.cfg.Issuer())
	}
	pw, err := reg.Bootstrap(ctx, d.cfg.Bootstrap.AdminUser, d.getenv("CUSTODY_ADMIN_PASSWORD"))
	if err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	if pw != "" {
		d.log.Info("first administrator created", "username", d.cfg.Bootstrap.AdminUser)
		if d.getenv("CUSTODY_ADMIN_PASSWORD") == "" {
			fmt.Fprintf(d.out, "\n  首次启动：已创建管理员 %q，一次性密码（仅显示这一次）：\n  First start: administrator %q created; one-time password (shown once):\n\n      %s\n\n  custodyctl login --user %s\n\n",
				d.cfg.Bootstrap.AdminUser, d.cfg.Bootstrap.AdminUser, pw, d.cfg.Bootstrap.AdminUser)
		}
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), buildinfo.Collector())
	site, err := d.startSite(ctx, st, reg, registry)
	if err != nil {
		return err
	}
	defer site.close()
	// A lockout after repeated wrong passwords is an alert for the security administrator. It
	// is raised in the failing login's own request: rare, and one write.
	reg.OnLocked(func(username string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := site.alerts.RecordLockout(ctx, username); err != nil {
			d.log.Error("raise an account lockout", "username", username, "err", err)
		}
	})
	srv := api.New(reg, st, d.log, api.Options{TokenTTL: d.cfg.HTTP.TokenTTL.Duration, Registry: registry, OnRevoke: site.revoked, OnRebind: site.rebound,
		Health: map[string]func() error{"ingest": site.conn.Health, "reconcile": site.duties.Health}, Ready: site.conn.Connected,
		Station: station{conn: site.conn, wait: encodeWait}, Alerts: site.alerts, ReportFont: d.cfg.Reports.Font,
		Locks: locks{conn: site.conn, chk: site.duties.checker, wait: lockWait}, Inventory: inventories{conn: site.conn}, EPCIS: d.cfg.EPCISOptions()})

	ln, err := net.Listen("tcp", d.cfg.HTTP.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("http.listen %s: the address is in use — another custodyd may be running; stop it or set [http] listen to a free port", d.cfg.HTTP.Listen)
		}
		return fmt.Errorf("http.listen %s: %w", d.cfg.HTTP.Listen, err)
	}
	// The web console (internal/console) answers everything the API does not: /api/, /healthz
	// and /metrics stay the API's.
	con, err := console.New(ctx, reg, st, d.log, console.Options{TokenTTL: d.cfg.HTTP.TokenTTL.Duration, Alerts: site.alerts, FontPath: d.cfg.Reports.Font,
		Locks: locks{conn: site.conn, chk: site.duties.checker, wait: lockWait}, Inventory: inventories{conn: site.conn}, Station: station{conn: site.conn, wait: encodeWait},
		Steps: d.cfg.Alerts.Steps})
	if err != nil {
		ln.Close()
		return err
	}
	hc := d.cfg.HTTP
	metricsToken, err := secret(hc.MetricsToken, hc.MetricsTokenFile)
	if err != nil {
		ln.Close()
		return fmt.Errorf("http.metrics_token_file: %w", err)
	}
	root := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/readyz"} {
		root.Handle(p, srv.Handler())
	}
	root.Handle("/metrics", metricsGuard(srv.Handler(), hc.MetricsListen != "", metricsToken))
	root.Handle("/", con.Handler())
	proxies, _ := parseProxies(hc.TrustedProxies) // validated at load
	front := frontDoor{trusted: proxies}
	hs := &http.Server{Handler: api.Recover(front.wrap(root), d.log), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	if hc.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(hc.TLSCert, hc.TLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("http.tls_cert, http.tls_key: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	var metricsSrv *http.Server
	if hc.MetricsListen != "" {
		mln, err := net.Listen("tcp", hc.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("http.metrics_listen %s: %w", hc.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", metricsGuard(srv.Handler(), false, metricsToken))
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go metricsSrv.Serve(mln) // ended by Shutdown below
		defer metricsSrv.Close()
		d.log.Info("metrics started", "addr", mln.Addr().String())
	}

	// Every long-running part runs under one context; the first to fail stops the others.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	failed := make(chan error, len(site.runners)+1)
	for _, r := range site.runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each part logs its own start and stop; a failure here stops custodyd as a whole.
			if err := r.run(runCtx); err != nil && runCtx.Err() == nil {
				failed <- fmt.Errorf("%s: %w", r.name, err)
			}
		}()
	}
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Serve(ln) }()
	d.log.Info("http started", "addr", ln.Addr().String(), "tls", hc.TLSCert != "", "trusted_proxies", len(proxies))
	if d.Ready != nil {
		d.Ready <- ln.Addr().String()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-httpDone:
		runErr = fmt.Errorf("http: %w", err)
		httpDone <- nil
	case runErr = <-failed:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && runErr == nil {
		runErr = err
	}
	<-httpDone
	d.log.Info("http stopped")
	stop()
	wg.Wait()
	return runErr
}

// cleanBackups removes what a backup interrupted by a kill left in the data directory: a full
// copy of the register must not lie there for ever.
func (d *Daemon) cleanBackups() {
	left, _ := filepath.Glob(filepath.Join(d.cfg.DataDir, "backup-*"))
	for _, dir := range left {
		if err := os.RemoveAll(dir); err != nil {
			d.log.Error("remove an interrupted backup", "path", dir, "err", err)
			continue
		}
		d.log.Warn("removed an interrupted backup left in the data directory", "path", dir)
	}
}
