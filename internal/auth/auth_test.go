package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("正确的密码horse-battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Errorf("got %q, want a PHC argon2id string", h)
	}
	if err := CheckPassword(h, "正确的密码horse-battery"); err != nil {
		t.Errorf("right password: got %v, want nil", err)
	}
	if err := CheckPassword(h, "正确的密码horse-batterY"); !errors.Is(err, ErrMismatch) {
		t.Errorf("wrong password: got %v, want ErrMismatch", err)
	}
	h2, _ := HashPassword("正确的密码horse-battery")
	if h2 == h {
		t.Error("two hashes of one password are equal: salt missing")
	}
}

func TestShortPasswordRefused(t *testing.T) {
	if _, err := HashPassword("short"); err == nil {
		t.Error("got nil, want refusal of a 5-character password")
	}
}

func TestTokenDigestIsNotTheToken(t *testing.T) {
	tok, dig := NewToken()
	if dig == tok || TokenDigest(tok) != dig || len(dig) != 64 {
		t.Errorf("token %q digest %q: want a 64-hex digest distinct from the token", tok, dig)
	}
}
