// Package sealedbackup is the encrypted form of a register backup: the SQLite copy custodyd
// streams, encrypted as it arrives with SM4-GCM under the 国密 profile or AES-256-GCM under the
// standard one (cryptoprofile), so the backup is never on disk in clear on its way.
//
// Contract: a key file holds the profile and 32 random bytes (NewKey, ReadKey). NewWriter
// encrypts a stream in 64 KiB chunks, each sealed on its own (the STREAM construction: a nonce of
// the chunk's counter and a last-chunk flag), so a chunk cannot be altered, reordered, dropped or
// the end cut off unnoticed. NewReader checks the key against the header before it returns a
// byte — a wrong key is ErrWrongKey, never garbage — and a Read fails with ErrDamaged at the
// first chunk that does not authenticate.
//
// Layout: "CUSTODYBAK1\n", the cipher's name (one length byte, then the name), a 32-byte random
// salt, a 16-byte key check (the cipher's tag over the header with the reserved nonce), then the
// chunks. The file key is HKDF(key file's secret, salt, "custody-backup-v1 "+cipher) over SM3 or
// SHA-256.
package sealedbackup

import (
	"bufio"
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/custodyhq/custody/internal/cryptoprofile"
)

const (
	magic     = "CUSTODYBAK1\n"
	chunkSize = 64 << 10
	saltSize  = 32
	tagSize   = 16
	keyPrefix = "custody-backup-key-v1"
)

// Errors a restore tells apart.
var (
	ErrWrongKey  = errors.New("wrong key: this backup was not encrypted with this key file")
	ErrDamaged   = errors.New("the encrypted backup is damaged or was altered")
	ErrTruncated = errors.New("the encrypted backup ends early: it was cut off")
	ErrNotSealed = errors.New("not an encrypted custody backup")
)

// Key is a backup key: the profile it was made for and its secret.
type Key struct {
	Profile cryptoprofile.Profile
	secret  []byte
}

// NewKey makes a key for the profile and returns it with the text of its key file.
func NewKey(p cryptoprofile.Profile) (Key, []byte, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, nil, err
	}
	text := fmt.Sprintf("%s %s %s\n", keyPrefix, p, base64.StdEncoding.EncodeToString(secret))
	return Key{p, secret}, []byte(text), nil
}

// ReadKey reads a key file's text.
func ReadKey(text []byte) (Key, error) {
	f := strings.Fields(string(text))
	if len(f) != 3 || f[0] != keyPrefix {
		return Key{}, errors.New("not a backup key file (custodyctl keys backup writes one)")
	}
	p, err := cryptoprofile.Parse(f[1])
	if err != nil {
		return Key{}, fmt.Errorf("backup key file: profile %w", err)
	}
	secret, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(secret) != 32 {
		return Key{}, errors.New("backup key file: the key is not 32 bytes of base64")
	}
	return Key{p, secret}, nil
}

func nonce(aead cipher.AEAD, counter uint64, last bool) []byte {
	n := make([]byte, aead.NonceSize())
	binary.BigEndian.PutUint64(n[len(n)-9:], counter)
	if last {
		n[len(n)-1] = 1
	}
	return n
}

// checkNonce is reserved for the key check: no chunk counter reaches it.
func checkNonce(aead cipher.AEAD) []byte { return bytes.Repeat([]byte{0xff}, aead.NonceSize()) }

// Writer encrypts a stream; Close seals the last chunk and must be called.
type Writer struct {
	w       io.Writer
	aead    cipher.AEAD
	buf     []byte
	counter uint64
	closed  bool
}

// NewWriter writes the header to w and returns the writer of the encrypted stream.
func NewWriter(w io.Writer, k Key) (*Writer, error) {
	name := k.Profile.BackupCipher()
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	aead, err := cryptoprofile.NewAEAD(name, k.secret, salt, "custody-backup-v1 "+name)
	if err != nil {
		return nil, err
	}
	hdr := append([]byte(magic), byte(len(name)))
	hdr = append(append(hdr, name...), salt...)
	hdr = aead.Seal(hdr, checkNonce(aead), nil, hdr)
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("write the backup header: %w", err)
	}
	return &Writer{w: w, aead: aead, buf: make([]byte, 0, chunkSize+tagSize)}, nil
}

// Write buffers p and seals every full chunk that more data follows.
func (e *Writer) Write(p []byte) (int, error) {
	if e.closed {
		return 0, errors.New("write after close")
	}
	n := len(p)
	for len(p) > 0 {
		if len(e.buf) == chunkSize {
			// Only now is it known that this chunk is not the last.
			if err := e.flush(false); err != nil {
				return n - len(p), err
			}
		}
		k := min(chunkSize-len(e.buf), len(p))
		e.buf = append(e.buf, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

func (e *Writer) flush(last bool) error {
	if e.counter >= 1<<63 {
		return errors.New("backup too large")
	}
	out := e.aead.Seal(e.buf[:0], nonce(e.aead, e.counter, last), e.buf, nil)
	e.counter++
	if _, err := e.w.Write(out); err != nil {
		return fmt.Errorf("write the encrypted backup: %w", err)
	}
	e.buf = e.buf[:0]
	return nil
}

// Close seals the last chunk (possibly empty). It does not close the underlying writer.
func (e *Writer) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	return e.flush(true)
}

// Reader decrypts a stream written by Writer.
type Reader struct {
	r       *bufio.Reader
	aead    cipher.AEAD
	Cipher  string // the cipher named in the header
	buf     []byte // decrypted bytes not yet read
	chunk   []byte // one encrypted chunk as read
	plain   []byte // its decryption (a separate buffer: a failed Open may overwrite its output)
	counter uint64
	done    bool
}

// NewReader reads the header and checks k against it: ErrNotSealed for another file,
// ErrWrongKey for another key (or a key made for the other profile).
func NewReader(r io.Reader, k Key) (*Reader, error) {
	br := bufio.NewReaderSize(r, chunkSize+tagSize+1)
	head := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(magic)]) != magic {
		return nil, ErrNotSealed
	}
	name := make([]byte, head[len(magic)])
	if _, err := io.ReadFull(br, name); err != nil {
		return nil, ErrNotSealed
	}
	salt := make([]byte, saltSize+tagSize)
	if _, err := io.ReadFull(br, salt); err != nil {
		return nil, ErrNotSealed
	}
	if string(name) != cryptoprofile.CipherSM4GCM && string(name) != cryptoprofile.CipherAES256GCM {
		return nil, fmt.Errorf("%w: unknown cipher %q", ErrNotSealed, name)
	}
	if string(name) != k.Profile.BackupCipher() {
		return nil, fmt.Errorf("%w (the backup is %s, the key is for the %s profile)", ErrWrongKey, name, k.Profile)
	}
	aead, err := cryptoprofile.NewAEAD(string(name), k.secret, salt[:saltSize], "custody-backup-v1 "+string(name))
	if err != nil {
		return nil, err
	}
	hdr := append(append(head, name...), salt[:saltSize]...)
	if _, err := aead.Open(nil, checkNonce(aead), salt[saltSize:], hdr); err != nil {
		return nil, ErrWrongKey
	}
	return &Reader{r: br, aead: aead, Cipher: string(name), chunk: make([]byte, chunkSize+tagSize), plain: make([]byte, 0, chunkSize)}, nil
}

// Read returns decrypted bytes, each chunk only once it has authenticated.
func (d *Reader) Read(p []byte) (int, error) {
	for len(d.buf) == 0 {
		if d.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(d.r, d.chunk)
		switch {
		case err == io.EOF:
			return 0, ErrTruncated // no last chunk
		case err == io.ErrUnexpectedEOF:
			d.done = true // a short chunk is the last
		case err != nil:
			return 0, fmt.Errorf("read the encrypted backup: %w", err)
		default:
			if _, perr := d.r.Peek(1); perr == io.EOF {
				d.done = true
			}
		}
		out, oerr := d.aead.Open(d.plain[:0], nonce(d.aead, d.counter, d.done), d.chunk[:n], nil)
		if oerr != nil {
			if !d.done {
				// A full chunk that authenticates as the last one means what followed it was added.
				if _, e2 := d.aead.Open(nil, nonce(d.aead, d.counter, true), d.chunk[:n], nil); e2 == nil {
					return 0, fmt.Errorf("%w: data after the last chunk", ErrDamaged)
				}
			} else if _, e2 := d.aead.Open(nil, nonce(d.aead, d.counter, false), d.chunk[:n], nil); e2 == nil {
				return 0, ErrTruncated
			}
			return 0, fmt.Errorf("%w (chunk %d)", ErrDamaged, d.counter+1)
		}
		d.counter++
		d.buf = out
	}
	n := copy(p, d.buf)
	d.buf = d.buf[n:]
	return n, nil
}
