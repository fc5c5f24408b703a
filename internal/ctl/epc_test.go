package ctl

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "CUSTODY_SERVER" {
			return "http://127.0.0.1:1" // nothing listens: the epc commands must not need a server
		}
		return ""
	}}
	code := c.Run(context.Background(), args)
	return out.String(), errb.String(), code
}

// The vectors checked in standards.md §2, through the command a custodian types.
func TestEPCCommandsOffline(t *testing.T) {
	out, errs, code := runCLI(t, "epc", "decode", "2C74257BF46072000000162E")
	if code != 0 || out != "urn:epc:tag:gdti-96:3.0614141.12345.5678\nurn:epc:id:gdti:0614141.12345.5678\n" {
		t.Errorf("decode: exit %d, got %q %q", code, out, errs)
	}
	out, _, code = runCLI(t, "epc", "encode", "urn:epc:tag:sgtin-96:3.0614141.812345.6789")
	if code != 0 || out != "3074257BF7194E4000001A85\n" {
		t.Errorf("encode: exit %d, got %q", code, out)
	}
	for _, bad := range [][]string{
		{"epc", "decode", "2C74257BF46072000000162"},  // 23 digits
		{"epc", "decode", "ZZ74257BF46072000000162E"}, // not hex
		{"epc", "encode", "urn:epc:tag:gdti-96:9.0614141.12345.5678"},
		{"epc", "encode", "not a uri"},
	} {
		out, errs, code := runCLI(t, bad...)
		if code == 0 || out != "" || !strings.Contains(errs, "EPC") && !strings.Contains(errs, "URI") {
			t.Errorf("%v: exit %d, out %q, err %q; want non-zero with a clear message", bad, code, out, errs)
		}
	}
}
