// Package auth hashes passwords with argon2id and makes bearer tokens.
//
// Contract: HashPassword produces a self-describing PHC string
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash) so parameters can be raised later without breaking old
// hashes; CheckPassword compares in constant time. Every argon2 computation of the process runs in
// a bounded Pool (Slots at a time, each 64 MiB, plus one reserved), so however many logins arrive
// at once the memory they take stays flat; Pool.Check gives up with ErrBusy when no slot frees in
// time. Tokens are 32 random bytes; only their SHA-256
// is stored, so a copy of the database does not let anyone log in.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

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

// ErrBusy is returned by CheckPasswordWait when every hashing slot stayed taken for the wait.
var ErrBusy = errors.New("password checks are busy")

// Slots is how many argon2 computations a Pool runs at once for anyone: one per core beyond the
// first, at least one, at most two — each holds 64 MiB. A Pool has one more slot reserved for
// Trusted checks (a login from an address that logged in successfully before), so a flood of
// wrong logins cannot make a real user wait behind it.
var Slots = min(max(runtime.GOMAXPROCS(0)-1, 1), 2)

// Pool bounds the argon2 computations run through it. custodyd's register has one for logins;
// the package's own (used by HashPassword and CheckPassword) serves everything else.
type Pool struct {
	slots    chan struct{}
	reserved chan struct{}
}

// NewPool returns a pool of Slots shared slots and one reserved.
func NewPool() *Pool {
	return &Pool{slots: make(chan struct{}, Slots), reserved: make(chan struct{}, 1)}
}

var defaultPool = NewPool()

// Lane says which slots a check may use.
type Lane int

const (
	General Lane = iota // the shared slots
	Trusted             // the reserved slot, or a shared one, whichever frees first
)

// derive runs argon2id in a slot of the pool, waiting for one at most wait (0: as long as it
// takes).
func (p *Pool) derive(ctx context.Context, lane Lane, wait time.Duration, pw, salt []byte, t, m uint32, par uint8, n uint32) ([]byte, error) {
	var res chan struct{}
	var spare chan struct{} // nil unless Trusted: a nil channel never receives
	if lane == Trusted {
		spare = p.reserved
	}
	select {
	case p.slots <- struct{}{}:
		res = p.slots
	case spare <- struct{}{}:
		res = spare
	default:
		var timeout <-chan time.Time
		if wait > 0 {
			timer := time.NewTimer(wait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case p.slots <- struct{}{}:
			res = p.slots
		case spare <- struct{}{}:
			res = spare
		case <-timeout:
			return nil, ErrBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	defer func() { <-res }()
	return argon2.IDKey(pw, salt, t, m, par, n), nil
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// HashPassword hashes a password for storage.
func HashPassword(pw string) (string, error) {
	if len([]rune(pw)) < MinPasswordLen {
		return "", fmt.Errorf("password too short: at least %d characters", MinPasswordLen)
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key, _ := defaultPool.derive(context.Background(), General, 0, []byte(pw), salt, passes, memoryKiB, lanes, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword returns nil if pw matches the stored hash, ErrMismatch if not. It waits as long
// as it takes for a hashing slot.
func CheckPassword(stored, pw string) error {
	return defaultPool.Check(context.Background(), General, 0, stored, pw)
}

// Check is CheckPassword in p, waiting at most wait for a hashing slot of lane (0: as long as it
// takes); then it returns ErrBusy, and the caller answers "try again shortly" without having
// spent any memory.
func (pool *Pool) Check(ctx context.Context, lane Lane, wait time.Duration, stored, pw string) error {
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
	if m > memoryKiB*4 || t > 16 || len(want) > 64 {
		return fmt.Errorf("stored password hash parameters out of range")
	}
	got, err := pool.derive(ctx, lane, wait, []byte(pw), salt, t, m, p, uint32(len(want)))
	if err != nil {
		return err
	}
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
