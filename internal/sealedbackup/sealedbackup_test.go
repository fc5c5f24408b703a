package sealedbackup

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/custodyhq/custody/internal/cryptoprofile"
)

func newKey(t testing.TB, p cryptoprofile.Profile) Key {
	t.Helper()
	k, text, err := NewKey(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadKey(text)
	if err != nil || back.Profile != p || !bytes.Equal(back.secret, k.secret) {
		t.Fatalf("key file round trip: got %+v, %v", back, err)
	}
	return k
}

func seal(t testing.TB, k Key, plain []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, k)
	if err != nil {
		t.Fatal(err)
	}
	// Odd write sizes, as an HTTP body arrives.
	for p := plain; len(p) > 0; {
		n := min(len(p), 1000+len(p)%7777)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func open(k Key, sealed []byte) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(sealed), k)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// plaintext looks like a register: a marker that must not appear in the encrypted bytes.
func plaintext(n int) []byte {
	b := bytes.Repeat([]byte("SQLite format 3\x00 国保〔2026〕7号 "), n/20+1)
	return b[:n]
}

// Round trip under both profiles at the sizes around chunk boundaries; the encrypted bytes hold
// none of the clear text and name their cipher.
func TestRoundTrip(t *testing.T) {
	for _, p := range []cryptoprofile.Profile{cryptoprofile.Standard, cryptoprofile.SM} {
		k := newKey(t, p)
		for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 5} {
			plain := plaintext(n)
			sealed := seal(t, k, plain)
			if n > 20 && bytes.Contains(sealed, []byte("SQLite format 3")) {
				t.Fatalf("%s %d: the encrypted stream holds the clear text", p, n)
			}
			if !bytes.Contains(sealed[:40], []byte(p.BackupCipher())) {
				t.Fatalf("%s: header does not name %s", p, p.BackupCipher())
			}
			got, err := open(k, sealed)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s %d bytes: got %d bytes, %v", p, n, len(got), err)
			}
		}
	}
}

// A wrong key is refused before any byte is returned, including a key of the other profile;
// a file that is not an encrypted backup (a clear SQLite copy) is named as such.
func TestWrongKeyIsRefused(t *testing.T) {
	k := newKey(t, cryptoprofile.SM)
	sealed := seal(t, k, plaintext(100_000))
	for name, other := range map[string]Key{"another sm key": newKey(t, cryptoprofile.SM), "a standard key": newKey(t, cryptoprofile.Standard)} {
		if _, err := NewReader(bytes.NewReader(sealed), other); !errors.Is(err, ErrWrongKey) {
			t.Errorf("%s: got %v, want ErrWrongKey", name, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(plaintext(5000)), k); !errors.Is(err, ErrNotSealed) {
		t.Errorf("a clear copy: got %v, want ErrNotSealed", err)
	}
}

// Any change of the encrypted bytes is found: a flipped bit, a chunk cut off the end, chunks
// swapped, data added after the last chunk.
func TestTamperingIsFound(t *testing.T) {
	k := newKey(t, cryptoprofile.SM)
	sealed := seal(t, k, plaintext(3*chunkSize+5))
	hdr := len(magic) + 1 + len(cryptoprofile.CipherSM4GCM) + saltSize + tagSize
	c := chunkSize + tagSize
	flip := bytes.Clone(sealed)
	flip[hdr+c+100] ^= 1
	swapped := bytes.Clone(sealed)
	copy(swapped[hdr:hdr+c], sealed[hdr+c:hdr+2*c])
	copy(swapped[hdr+c:hdr+2*c], sealed[hdr:hdr+c])
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"bit flipped":         {flip, ErrDamaged},
		"chunks swapped":      {swapped, ErrDamaged},
		"last chunk cut off":  {sealed[:hdr+3*c], ErrTruncated},
		"cut inside a chunk":  {sealed[:hdr+c+500], ErrDamaged},
		"data after the end":  {append(bytes.Clone(sealed), sealed[hdr:hdr+c]...), ErrDamaged},
		"header salt changed": {func() []byte { b := bytes.Clone(sealed); b[hdr-tagSize-1] ^= 1; return b }(), ErrWrongKey},
	} {
		if _, err := open(k, tc.data); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

// FuzzReader: whatever the bytes, NewReader and Read fail cleanly or return what was sealed.
func FuzzReader(f *testing.F) {
	k := Key{cryptoprofile.SM, bytes.Repeat([]byte{7}, 32)}
	f.Add(seal(f, k, []byte("hello")))
	f.Add(seal(f, k, nil))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewReader(bytes.NewReader(b), k)
		if err != nil {
			return
		}
		io.Copy(io.Discard, r)
	})
}
