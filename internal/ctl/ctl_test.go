package ctl

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// newRegister opens a real SQLite register in a temporary directory (closed when the test ends),
// with its first administrator signed in: the token and the actor the commands' tests start from.
func newRegister(t *testing.T) (*store.Store, *register.Register, string, register.Actor) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "custody.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := register.New(st, nil)
	if _, err := reg.Bootstrap(ctx, "admin", "admin-password-1"); err != nil {
		t.Fatal(err)
	}
	token, admin, err := reg.Login(ctx, "admin", "admin-password-1", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return st, reg, token, admin
}
