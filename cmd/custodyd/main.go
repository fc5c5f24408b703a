// Command custodyd is the central custody service: the register, its rules and its API.
//
//	custodyd [-config custodyd.toml] | -version | -sample-config
//	custodyd reset-admin [-config custodyd.toml] [USERNAME]   a lost administrator password
//	custodyd migrate [-config custodyd.toml] -to postgres://…  move the SQLite register to PostgreSQL
//
// With no config (no -config, no CUSTODY_CONFIG) it starts with the defaults of
// deploy/custodyd.toml: data in ./var, HTTP on 127.0.0.1:8080. Installed from the package, the
// service runs it with /etc/custody/custodyd.toml (data in /var/lib/custody).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/daemon"
)

func main() {
	// custodyd reset-admin [-config FILE] [USERNAME]: the local way back from a lost
	// administrator password (audited).
	if len(os.Args) > 1 && os.Args[1] == "reset-admin" {
		os.Exit(resetAdmin(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		os.Exit(migrate(os.Args[2:]))
	}
	configPath := flag.String("config", os.Getenv("CUSTODY_CONFIG"), "TOML config file (default: $CUSTODY_CONFIG, else the built-in defaults of deploy/custodyd.toml; the package's service passes /etc/custody/custodyd.toml)")
	printSample := flag.Bool("sample-config", false, "print the documented default config and exit")
	version := flag.Bool("version", false, "print the version, commit, build date and Go version and exit")
	flag.Parse()
	if *version {
		fmt.Print(buildinfo.Line("custodyd"))
		return
	}
	if *printSample {
		fmt.Print(daemon.Sample)
		return
	}
	cfg, err := daemon.Load(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custodyd:", err)
		os.Exit(2)
	}
	log := cfg.Logger(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bi := buildinfo.Get()
	log.Info("custodyd starting", "data_dir", cfg.DataDir, "version", bi.Version, "commit", bi.Commit)
	if err := daemon.New(cfg, log, os.Stdout, os.Getenv).Run(ctx); err != nil {
		log.Error("custodyd stopped", "err", err)
		os.Exit(1)
	}
	log.Info("custodyd stopped")
}

func resetAdmin(args []string) int {
	fs := flag.NewFlagSet("custodyd reset-admin", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("CUSTODY_CONFIG"), "TOML config file whose data_dir holds the register")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: custodyd reset-admin [-config FILE] [USERNAME]\n\nGives an administrator account a new one-time password, on the server, in the register of\nthe config's data_dir; audited as the local user. USERNAME defaults to [bootstrap] admin_user.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := daemon.Load(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custodyd:", err)
		return 2
	}
	if err := daemon.ResetAdmin(context.Background(), cfg, fs.Arg(0), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custodyd reset-admin:", err)
		return 1
	}
	return 0
}

func migrate(args []string) int {
	fs := flag.NewFlagSet("custodyd migrate", flag.ContinueOnError)
	configPath := fs.String("config", os.Getenv("CUSTODY_CONFIG"), "TOML config file whose data_dir holds the SQLite register")
	to := fs.String("to", "", "the empty PostgreSQL database to move it into (postgres://…; created with C collation, see docs/deployment.md)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: custodyd migrate [-config FILE] -to postgres://…\n\nCopies the SQLite register of the config's data_dir into an empty PostgreSQL database in one\ntransaction, checks every table's count and the audit chain's head on both sides, and refuses\na target that holds anything. custodyd must be stopped; the SQLite file is left unchanged.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg, err := daemon.Load(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custodyd:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := daemon.Migrate(ctx, cfg, *to, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custodyd migrate:", err)
		return 1
	}
	return 0
}
