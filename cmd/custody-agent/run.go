package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/custodyhq/custody/internal/agent"
	"github.com/custodyhq/custody/internal/agent/config"
)

const defaultConfig = "/etc/custody/agent.toml"

// runAgent loads the configuration, runs the agent until SIGINT or SIGTERM, and closes it.
func runAgent(args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	path := fs.String("config", defaultConfig, "TOML configuration (see `custody-agent sample-config`)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "custody-agent: -log-level %q: use debug, info, warn or error\n", *level)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custody-agent:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	a, err := agent.Open(ctx, cfg, agent.Options{Logger: log})
	if err != nil {
		log.Error("custody-agent cannot start", "error", err)
		return 1
	}
	defer a.Close()
	if err := a.Run(ctx); err != nil {
		log.Error("custody-agent stopped", "error", err)
		return 1
	}
	return 0
}

func checkConfig(args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	path := fs.String("config", defaultConfig, "TOML configuration to check")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "custody-agent:", err)
		return 1
	}
	fmt.Printf("%s: agent %s, %d readers, %d cabinets %v, %d controllers, %d scanners: OK\n",
		*path, cfg.Agent.ID, len(cfg.Readers), len(cfg.Cabinets()), cfg.Cabinets(), len(cfg.Controllers), len(cfg.Scanners))
	return 0
}

func sampleConfig([]string) int {
	os.Stdout.Write(config.Sample())
	return 0
}
