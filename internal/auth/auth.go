// Package auth hashes passwords with argon2id and makes bearer tokens.
//
// Contract: HashPassword produces a self-describing PHC string
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so parameters can be raised later without breaking old
// hashes; CheckPassword compares in constant time. Tokens are 32 random bytes; only their SHA-256
// is stored, so a copy of the database does not let anyone log in.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters follow RFC 9106's second recommended option (64 MiB, 3 passes) scaled to a
// 2-core server: one login costs tens of milliseconds.
const (
	memoryKiB = 64 * 1024
	passes    = 3
	lanes     = 2
	keyLen    = 32
)

// ErrMismatch is a wrong password.
var ErrMismatch = errors.New("wrong password")

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// HashPassword hashes a password for storage.
func HashPassword(pw string) (string, error) {
	if len([]rune(pw)) < MinPasswordLen {
		return "", fmt.Errorf("password too short: at least %d characters", MinPasswordLen)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, passes, memoryKiB, lanes, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword returns nil if pw matches the stored hash, ErrMismatch if not.
func CheckPassword(stored, pw string) error {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return fmt.Errorf("stored password hash has an unknown format")
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return fmt.Errorf("stored password hash parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("stored password hash: %w", err)
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// NewToken returns a fresh bearer token and the digest to store.
func NewToken() (token, digest string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = "cst_" + base64.RawURLEncoding.EncodeToString(b)
	return token, TokenDigest(token)
}

// TokenDigest is what the store keeps of a token.
func TokenDigest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// RandomSecret returns n random bytes, e.g. an agent key.
func RandomSecret(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// RandomPassword returns a one-time password people can type: 16 characters without look-alikes.
func RandomPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
