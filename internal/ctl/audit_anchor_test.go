package ctl

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/api"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
)

// The security auditor's external anchor, as a 国密 installation uses it: the register moves to
// the sm profile (the chain switches at a marked record), the auditor makes an SM2 key pair,
// signs the head, and later proves an export extends it — and an edit made after signing is
// found even when every hash after it was recomputed; a wrong public key is refused.
func TestSignedHeadThroughCustodyctl(t *testing.T) {
	ctx := context.Background()
	st, reg, _, admin := newRegister(t)
	if sw, err := st.UseProfile(ctx, cryptoprofile.SM); err != nil || !sw {
		t.Fatalf("switch to sm: %v %v", sw, err)
	}
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "BGS", Name: "办公室"}); err != nil {
		t.Fatal(err)
	}
	addPeople(t, reg, admin, "BGS", struct {
		user, name string
		role       custody.Role
	}{"zhao.shen", "赵审", custody.Auditor})
	tok, _, err := reg.Login(ctx, "zhao.shen", "zhao.shen-password", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
	defer srv.Close()
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		c := &CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"CUSTODY_SERVER": srv.URL, "CUSTODY_TOKEN": tok}[k]
		}}
		code := c.Run(ctx, args)
		return code, out.String(), errb.String()
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "auditor")
	if code, out, errs := run("keys", "new", "-profile", "sm", "-o", key); code != ExitOK || !strings.Contains(out, "sm2-sm3") {
		t.Fatalf("keys new: exit %d %q %q", code, out, errs)
	}
	if fi, err := os.Stat(key + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v, want mode 0600", fi, err)
	}
	if code, _, _ := run("keys", "new", "-profile", "sm", "-o", key); code != ExitConflict {
		t.Errorf("keys new over existing files: exit %d, want %d (nothing overwritten)", code, ExitConflict)
	}
	anchorFile := filepath.Join(dir, "head.json")
	if code, out, errs := run("audit", "head", "--sign", key+".key", "-o", anchorFile); code != ExitOK {
		t.Fatalf("audit head --sign: exit %d %q %q", code, out, errs)
	}
	// Work goes on after signing.
	if _, err := reg.AddUnit(ctx, admin, register.Unit{Code: "JYS", Name: "机要室"}); err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "audit.jsonl")
	if code, _, errs := run("audit", "export", "-o", export); code != ExitOK {
		t.Fatalf("audit export: exit %d %q", code, errs)
	}
	code, out, errs := run("audit", "verify", export, "--anchor", anchorFile, "--pub", key+".pub")
	if code != ExitOK || !strings.Contains(out, "延续已签名的链头") || !strings.Contains(out, "SHA256") || !strings.Contains(out, "SM3") {
		t.Fatalf("verify against the signed head: exit %d\n%s%s\nwant it to extend the head, both halves named", code, out, errs)
	}

	// The attacker edits record 2 and recomputes every hash after it: the chain is intact in
	// itself, but no longer holds the signed head.
	forged := filepath.Join(dir, "forged.jsonl")
	rewrite(t, export, forged, 2)
	if code, _, _ := run("audit", "verify", forged); code != ExitOK {
		t.Fatalf("the rewritten export on its own: exit %d, want intact (every hash recomputed)", code)
	}
	code, _, errs = run("audit", "verify", forged, "--anchor", anchorFile, "--pub", key+".pub")
	if code != ExitTampered || !strings.Contains(errs, "签名后被改写") {
		t.Fatalf("rewritten after signing: exit %d %q, want %d naming 签名后被改写", code, errs, ExitTampered)
	}

	other := filepath.Join(dir, "other")
	run("keys", "new", "-profile", "sm", "-o", other)
	code, _, errs = run("audit", "verify", export, "--anchor", anchorFile, "--pub", other+".pub")
	if code != ExitTampered || !strings.Contains(errs, "签名无效") {
		t.Fatalf("another auditor's public key: exit %d %q, want the signature refused", code, errs)
	}
	if code, _, _ := run("audit", "verify", export, "--anchor", anchorFile); code != ExitUsage {
		t.Errorf("--anchor without --pub: exit %d, want %d", code, ExitUsage)
	}
}

// rewrite copies an export, changing record n's actor and resealing every record from it on.
func rewrite(t *testing.T, from, to string, n int) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []audit.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Seq == 0 {
			continue // the mark line
		}
		recs = append(recs, r)
	}
	recs[n-1].Actor = "mallory"
	prev := audit.Genesis
	for i := range recs {
		recs[i].Seal(prev)
		prev = recs[i].Hash
	}
	var buf bytes.Buffer
	if err := audit.WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
