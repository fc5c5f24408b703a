package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/anchor"
	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/store"
)

func change(t *testing.T, st *store.Store, subject string) {
	t.Helper()
	if err := st.Change(context.Background(), func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: "test", Action: "test.change", Subject: subject})
	}); err != nil {
		t.Fatal(err)
	}
}

// custodyd under the sm profile signs the head with its SM2 head key into head_dir, once per new
// head; each file is an anchor the exported chain is proved to extend. A key file others can read,
// or a key of the other profile, is refused.
func TestHeadSigner(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.UseProfile(ctx, cryptoprofile.SM); err != nil {
		t.Fatal(err)
	}
	priv, pub, _ := cryptoprofile.NewKeyPair(cryptoprofile.SM)
	keyFile := filepath.Join(dir, "head.key")
	os.WriteFile(keyFile, priv, 0o644)
	if _, err := loadHeadKey(keyFile, cryptoprofile.SM); err == nil || !strings.Contains(err.Error(), "chmod 400") {
		t.Fatalf("a key file others can read: got %v, want refused", err)
	}
	os.Chmod(keyFile, 0o400)
	if _, err := loadHeadKey(keyFile, cryptoprofile.Standard); err == nil || !strings.Contains(err.Error(), "sm2-sm3 key") {
		t.Fatalf("an SM2 key under standard: got %v, want refused", err)
	}
	signer, err := loadHeadKey(keyFile, cryptoprofile.SM)
	if err != nil {
		t.Fatal(err)
	}
	heads := filepath.Join(dir, "heads")
	os.Mkdir(heads, 0o755)
	h := &headSigner{st: st, signer: signer, dir: heads, every: time.Hour, log: slog.New(slog.DiscardHandler)}

	if err := h.signOnce(time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(dirNames(t, heads)); n != 0 {
		t.Fatalf("an empty chain: got %d signed heads, want none", n)
	}
	change(t, st, "a")
	change(t, st, "b")
	h.signOnce(time.Now())
	h.signOnce(time.Now()) // nothing new: no second file
	change(t, st, "c")
	h.signOnce(time.Now())
	names := dirNames(t, heads)
	if strings.Join(names, " ") != "head-000000000002.json head-000000000003.json" {
		t.Fatalf("signed heads: got %v, want one for seq 2 and one for seq 3", names)
	}

	verifier, _ := cryptoprofile.ParseVerifier(pub)
	var recs []audit.Record
	st.AuditRecords(ctx, 1, func(r audit.Record) error { recs = append(recs, r); return nil })
	var export bytes.Buffer
	audit.WriteJSONL(&export, recs)
	for _, n := range names {
		f, _ := os.Open(filepath.Join(heads, n))
		signed, err := anchor.Read(f)
		f.Close()
		if err != nil || signed.SigAlg != cryptoprofile.SigSM2 {
			t.Fatalf("%s: %+v %v", n, signed, err)
		}
		if _, err := anchor.VerifyExport(bytes.NewReader(export.Bytes()), signed, verifier); err != nil {
			t.Fatalf("%s: the export does not extend it: %v", n, err)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
