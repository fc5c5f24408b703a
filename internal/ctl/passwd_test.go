package ctl

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/custodyhq/custody/internal/api"
)

// At a terminal passwd asks for the new password twice; two different entries change nothing.
// The terminal is a real pseudo-terminal, as a person's.
func TestPasswdAsksTwiceAtATerminal(t *testing.T) {
	ctx := context.Background()
	st, reg, token, _ := newRegister(t)
	srv := httptest.NewServer(api.New(reg, st, slog.New(slog.DiscardHandler), api.Options{}).Handler())
	defer srv.Close()
	run := func(typed string) (string, int) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer ptmx.Close()
		defer tty.Close()
		go io.Copy(io.Discard, ptmx) // what the terminal shows
		var errb bytes.Buffer
		c := &CLI{Stdin: tty, Stdout: &bytes.Buffer{}, Stderr: &errb, Getenv: func(k string) string {
			return map[string]string{"CUSTODY_SERVER": srv.URL, "CUSTODY_TOKEN": token}[k]
		}}
		done := make(chan int, 1)
		go func() { done <- c.Run(ctx, []string{"passwd"}) }()
		ptmx.Write([]byte(typed)) // typed ahead: the terminal's line discipline keeps the lines for each prompt
		select {
		case code := <-done:
			return errb.String(), code
		case <-time.After(30 * time.Second):
			t.Fatal("passwd did not finish")
		}
		return "", 0
	}
	errs, code := run("admin-password-1\nnew-password-one\nnew-password-two\n")
	if code != ExitUsage || !strings.Contains(errs, "再次输入新密码") || !strings.Contains(errs, "两次输入的新密码不一致") {
		t.Fatalf("different entries: exit %d %q; want 2 saying they differ", code, errs)
	}
	if _, _, err := reg.Login(ctx, "admin", "admin-password-1", time.Hour); err != nil {
		t.Fatalf("the password changed although the entries differed: %v", err)
	}
	if errs, code := run("admin-password-1\nnew-password-one\nnew-password-one\n"); code != ExitOK {
		t.Fatalf("same entries: exit %d %q", code, errs)
	}
	if _, _, err := reg.Login(ctx, "admin", "new-password-one", time.Hour); err != nil {
		t.Fatalf("new password not in force: %v", err)
	}
}
