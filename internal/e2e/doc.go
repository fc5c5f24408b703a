// Package e2e holds end-to-end tests that build the real programs (custodyd, custodyctl) and
// drive them as a newcomer following the README would. It has no non-test code.
package e2e
