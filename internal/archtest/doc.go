// Package archtest holds no code: its test checks, from `go list`, that the imports follow
// DESIGN.md §4 — each package imports only from its own floor or the floors below
// (docs/architecture.md lists them), and the "never" arrows do not appear: a codec does not link
// MQTT or the store, reconcile links neither and reads no clock, wire links nothing outside the
// standard library, the agent does not link the register. A new package must be given a floor
// here, or the test fails.
package archtest
