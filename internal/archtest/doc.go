// Package archtest holds no code: its test checks, from `go list`, that the imports follow
// DESIGN.md §4 — each package imports only from its own floor or the floors below
// (docs/architecture.md lists them), and the "never" arrows do not appear: a codec does not link
// MQTT or the store, reconcile links neither and reads no clock, wire links nothing outside the
// standard library, the agent does not link the register — and that custodyctl links none of
// the server's packages, nor SQLite or MQTT. A new package must be given a floor here, or the
// test fails.
//
// It also checks that each table of custodyd's database is used by its owner only
// (owners_test.go): no SQL text naming a table outside its owning package, no call of the store's
// read pool from a package that owns no table, and an owner for every table the migrations create.
// The owners' SQL is checked for forms only SQLite takes (dialect_test.go): it runs unchanged on
// SQLite and PostgreSQL.
package archtest
