# custody — build, run and test targets. The README's two commands are `make run` and `make test`.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# make test's runner: go test's own lines (ok/FAIL per package, failures in full), then one line
# counting passed, failed and skipped tests.
GOTESTSUM ?= gotest.tools/gotestsum@v1.13.0
BENCHTIME ?= 1s
# The build's identity, printed by every program's --version and exported as custody_build_info.
# A tag v1.2.3 gives 1.2.3; an untagged tree 0.1.0~git<commit> (sorts before 0.1.0 in dpkg and rpm).
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo $${v#v} || echo 0.1.0~git$$(git rev-parse --short=12 HEAD 2>/dev/null))
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
BI := github.com/custodyhq/custody/internal/buildinfo
LDFLAGS := -X $(BI).version=$(VERSION) -X $(BI).commit=$(COMMIT) -X $(BI).date=$(BUILD_DATE)

.PHONY: run test test-cluster setup lint bench build c-test fuzz demo screenshots clean package

# Start custodyd with its embedded defaults (SQLite under ./var, HTTP on 127.0.0.1:8080, embedded MQTT broker).
# Ctrl-C stops it and make exits 0 without an error line: at a terminal the program runs as a job
# of its own (set -m gives it its own process group and the terminal), so the interrupt reaches
# custodyd, which stops cleanly and exits 0, and not make, which would otherwise die of it
# (status 130) whatever the program did. "; true" keeps bash from exec'ing the command in place,
# which would skip the job control; -e still passes a failure on. Not `go run`: it exits 1 on
# an interrupt whatever its program does.
FOREGROUND := if [ -t 0 ]; then set -m; fi;
run:
	@$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/custodyd ./cmd/custodyd
	@$(FOREGROUND) bin/custodyd; true

# The packages whose tests run a second time on PostgreSQL (CUSTODY_TEST_STORE=postgres).
PG_PACKAGES ?= ./internal/store/... ./internal/audit ./internal/lease \
	./internal/register ./internal/alert ./internal/schedule ./internal/ingest ./internal/console

# The whole test suite: Go tests under the race detector (real SQLite files, pseudo-terminals,
# the embedded broker and Mosquitto on 127.0.0.1:1883), the store's owners' suites again on
# PostgreSQL, and the C reference codec's tests.
test: setup
	$(GO) vet ./...
	$(GO) run $(GOTESTSUM) --format standard-quiet --format-hide-empty-pkg -- -race -count=1 -timeout 40m ./...
	@# The site's zone is Asia/Shanghai whatever the host's: the suites that read and show times
	@# people type run again on a host clock set to New York (an 8 h bug cannot pass both runs).
	TZ=America/New_York $(GO) test -count=1 -timeout 20m ./internal/sitetime ./internal/register ./internal/report ./internal/ctl ./internal/console
	@# The second store: the suites of the store and of the tables' owners again, each test on a
	@# throwaway PostgreSQL database (127.0.0.1:5432, started by setup; internal/store/storetest).
	@# Without -race: the first pass ran these same tests under it, and this one is about the engine.
	CUSTODY_TEST_STORE=postgres $(GO) test -count=1 -timeout 40m $(PG_PACKAGES)
	@# Two custodyd processes on one PostgreSQL database, each leader SIGKILLed in turn (issue 18).
	CUSTODY_TEST_STORE=postgres $(GO) test -count=1 -timeout 10m -run '^TestKillTheLeader' ./internal/e2e
	@# Allocation counts mean nothing under -race, so those tests skip there and run here.
	$(GO) test -count=1 -run 'Allocates' ./internal/audit
	$(MAKE) c-test

# Issue 18's kill tests alone, on both stores, told in full: two custodyd processes on one register
# and Mosquitto, the leader SIGKILLed mid door cycle and mid burst, then the other. RUNS=n repeats them.
RUNS ?= 1
test-cluster: setup
	$(GO) test -race -count=$(RUNS) -timeout 40m -run '^TestKillTheLeader' -v ./internal/e2e
	CUSTODY_TEST_STORE=postgres $(GO) test -race -count=$(RUNS) -timeout 40m -run '^TestKillTheLeader' -v ./internal/e2e

setup:
	@./deploy/dev/setup.sh

c-test:
	@if [ -f firmware-protocol/c/Makefile ]; then $(MAKE) -C firmware-protocol/c test; fi

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) run $(STATICCHECK) ./...

# Benchmarks named by the issues; prints one line `BENCH <name> <value>` per figure.
bench: setup
	@mkdir -p var
	$(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -benchmem ./... | tee var/bench.out | ./scripts/bench-lines
	@# The site's night and the failover again on PostgreSQL: reconcile_site_100k_pg_s, failover_s.
	CUSTODY_TEST_STORE=postgres $(GO) test -run '^$$' -bench '^(BenchmarkSiteNight|BenchmarkFailover)$$' -benchtime $(BENCHTIME) ./internal/alert ./internal/e2e | tee -a var/bench.out | ./scripts/bench-lines

# custodyd + three simulated cabinets + an agent, with a small register (see the README).
demo:
	@$(FOREGROUND) ./scripts/demo; true

# The README's pictures of the console, taken in Chromium from a live custodyd.
screenshots: setup
	$(GO) test -count=1 ./internal/console -run '^TestScreenshots$$' -args -out "$$PWD/docs/screenshots"

# Every fuzz target for FUZZTIME (default 60s) each.
fuzz:
	./scripts/fuzz

# .deb and .rpm packages (custody: custodyd + custodyctl; custody-agent) for amd64 and arm64 in dist/.
package:
	VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)' ./scripts/package

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...

clean:
	rm -rf bin dist var/bench.out
