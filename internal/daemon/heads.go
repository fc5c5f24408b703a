package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/custodyhq/custody/internal/anchor"
	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/store"
)

// headSigner signs the audit chain's head on a schedule ([audit] head_key, head_dir, head_every)
// and writes each signed head as its own file in head_dir, where the security auditor fetches
// them (`custodyctl audit verify --anchor FILE --pub KEY` checks an export against any of them).
// The head-signing key is a key pair of its own (custodyctl keys new), not the auditor's personal
// one; its file must be readable by custodyd's user only. A head copied out of head_dir stays a
// valid anchor even if the server is later taken over: a rewritten chain no longer holds it.
type headSigner struct {
	st     *store.Store
	signer *cryptoprofile.Signer
	dir    string
	every  time.Duration
	log    *slog.Logger
	last   int64 // the last seq signed
}

// loadHeadKey reads the head-signing key, refusing a file others can read or a key of the other
// profile.
func loadHeadKey(path string, p cryptoprofile.Profile) (*cryptoprofile.Signer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is mode %v: the signing key must be readable by custodyd's user only (chmod 400)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := cryptoprofile.ParseSigner(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Alg() != p.SignatureAlg() {
		return nil, fmt.Errorf("%s is a %s key, but crypto.profile %s signs with %s (custodyctl keys new -profile %s)", path, s.Alg(), p, p.SignatureAlg(), p)
	}
	return s, nil
}

// run signs at once, then every h.every, until ctx ends.
func (h *headSigner) run(ctx context.Context) error {
	h.log.Info("head signing started", "dir", h.dir, "every", h.every.String())
	defer h.log.Info("head signing stopped")
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		if err := h.signOnce(time.Now()); err != nil {
			// A full disk or a removed directory is the operator's to fix; signing goes on.
			h.log.Error("head signing failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// signOnce signs the current head unless it was signed already (nothing happened since), and
// writes it to head_dir as head-<seq>.json.
func (h *headSigner) signOnce(now time.Time) error {
	seq, hash := h.st.AuditHead()
	if seq == 0 || seq == h.last {
		return nil
	}
	signed, err := anchor.Sign(h.signer, seq, hash, now)
	if err != nil {
		return err
	}
	path := filepath.Join(h.dir, fmt.Sprintf("head-%012d.json", seq))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		h.last = seq // signed before a restart
		return nil
	}
	if err != nil {
		return fmt.Errorf("write signed head: %w", err)
	}
	err = signed.Write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write signed head %s: %w", path, err)
	}
	h.last = seq
	h.log.Info("audit head signed", "seq", seq, "hash", hash, "sig_alg", signed.SigAlg, "file", path)
	return nil
}
