// Package apitype holds the JSON shapes custodyd's HTTP API serves and custodyctl reads: the
// register's records (items, documents, handovers, checks, approvals, …), the requests that
// change them, the alerts and findings, and the few words custodyctl shows for the codes in them
// (a handover's purpose, a check outcome, a transit's state).
//
// Contract: a leaf. It imports only the vocabulary (internal/custody) and the standard library,
// never a server package, so custodyctl links no store, SQL driver or reconciliation
// (internal/archtest checks it). The register's types are these types (register declares
// aliases), so what the server encodes is what the client decodes. The alert shapes mirror the
// server's instead (alerts.go says why); a test holds them and the shared words to the server's.
package apitype
