// Command custodyd is the central custody service: the register, its rules and its API.
//
//	custodyd [-config custodyd.toml] | -version | -sample-config
//
// With no config (no -config, no CUSTODY_CONFIG) it starts with the defaults of
// deploy/custodyd.toml: data in ./var, HTTP on 127.0.0.1:8080. Installed from the package, the
// service runs it with /etc/custody/custodyd.toml (data in /var/lib/custody).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/daemon"
)

func main() {
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
