// Package e2e holds end-to-end tests that build the real programs (custodyd, custodyctl) and
// drive them as a newcomer following the README would, and the demo's room — cabinet-sim,
// custody-agent and custodyd as processes over Mosquitto — for the door-to-alert and
// alarm-to-alert benchmarks and the cabinet alarms' tests. It has no non-test code.
package e2e
