// Command custody-agent runs beside a group of cabinets: it owns the RFID readers, cabinet
// controllers and desk scanners, runs inventory rounds, keeps a durable outbox and publishes
// observations to custodyd over MQTT.
//
//	custody-agent [run] -config /etc/custody/agent.toml   run the agent (the default subcommand)
//	custody-agent check -config FILE                       check a configuration and exit
//	custody-agent sample-config                            print the annotated sample configuration
//	custody-agent --version                                print the build (also: version)
//
// Subcommands live in the table below, one line each.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/custodyhq/custody/internal/buildinfo"
	"github.com/custodyhq/custody/internal/capture"
)

// subcommand is one entry of the dispatch table: it gets the arguments after its name and
// returns the process exit code.
type subcommand struct {
	run  func(args []string) int
	help string
}

var subcommands = map[string]subcommand{
	"run":           {runAgent, "run the agent (default)"},
	"check":         {checkConfig, "check a configuration file and exit"},
	"sample-config": {sampleConfig, "print the annotated sample configuration"},
	"version":       {nil, "print the version, commit, build date and Go version (also --version)"},
	"decode":        {func(a []string) int { return capture.Main(a, os.Stdin, os.Stdout, os.Stderr) }, "decode a captured reader, controller or scanner byte stream"},
}

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

func dispatch(args []string) int {
	name := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "version" || (len(args) > 0 && (args[0] == "--version" || args[0] == "-version")) {
		fmt.Print(buildinfo.Line("custody-agent"))
		return 0
	}
	if name == "help" {
		usage()
		return 0
	}
	sc, ok := subcommands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "custody-agent: unknown subcommand %q\n\n", name)
		usage()
		return 2
	}
	return sc.run(args)
}

func usage() {
	names := make([]string, 0, len(subcommands))
	for n := range subcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: custody-agent [subcommand] [flags]")
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-14s %s\n", n, subcommands[n].help)
	}
}
