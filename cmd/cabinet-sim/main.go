// Command cabinet-sim simulates a room of cabinets on pseudo-terminals: UHF RFID readers (R2000 or
// M6e), cabinet controllers on their buses and desk barcode scanners, speaking the real wire
// protocols, driven by a scenario file and by commands typed on stdin. See docs/tools.md.
//
//	cabinet-sim [--json] [--link-dir DIR] [--log-level info] SCENARIO.toml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/cabinetsim"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("cabinet-sim", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print the devices as JSON lines")
	linkDir := fs.String("link-dir", "", "create stable symlinks to the devices here (DIR/cab-01-reader, …)")
	level := fs.String("log-level", "info", "debug, info, warn or error (logs go to stderr)")
	version := fs.Bool("version", false, "print the version, commit, build date and Go version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: cabinet-sim [flags] SCENARIO.toml\n\n"+
			"Simulates the readers, cabinet controllers and scanners of a scenario on pseudo-terminals,\n"+
			"prints one line per device (its path), then reads commands on stdin.\n\nflags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\n%s\n", cabinetsim.CommandHelp)
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *version {
		fmt.Print(buildinfo.Line("cabinet-sim"))
		return 0
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "cabinet-sim: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	sc, err := cabinetsim.LoadScenario(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cabinet-sim: %v\n", err)
		return 1
	}
	sim, err := cabinetsim.New(sc, cabinetsim.Options{LinkDir: *linkDir, Logger: log})
	if err != nil {
		fmt.Fprintf(os.Stderr, "cabinet-sim: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sim.Run(ctx, os.Stdin, os.Stdout, *asJSON); err != nil {
		fmt.Fprintf(os.Stderr, "cabinet-sim: %v\n", err)
		return 1
	}
	return 0
}
