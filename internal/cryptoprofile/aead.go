package cryptoprofile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// Authenticated ciphers, as an encrypted backup's header names them.
const (
	CipherSM4GCM    = "sm4-gcm"     // SM4 (GB/T 32907) in GCM, 128-bit key
	CipherAES256GCM = "aes-256-gcm" // AES-256 in GCM
)

// BackupCipher is the cipher the profile encrypts backups with.
func (p Profile) BackupCipher() string {
	if p == SM {
		return CipherSM4GCM
	}
	return CipherAES256GCM
}

// NewAEAD derives the key for cipher from secret with HKDF (RFC 5869) over the cipher's profile's
// hash — SM3 for SM4-GCM, SHA-256 for AES-256-GCM, so an SM installation uses no other
// algorithm — with salt and info, and returns the cipher keyed with it.
func NewAEAD(cipherName string, secret, salt []byte, info string) (cipher.AEAD, error) {
	var (
		h      func() hash.Hash
		keyLen int
		block  func([]byte) (cipher.Block, error)
	)
	switch cipherName {
	case CipherSM4GCM:
		h, keyLen, block = sm3.New, 16, sm4.NewCipher
	case CipherAES256GCM:
		h, keyLen, block = sha256.New, 32, aes.NewCipher
	default:
		return nil, fmt.Errorf("unknown cipher %q (sm4-gcm or aes-256-gcm)", cipherName)
	}
	key, err := hkdf.Key(h, secret, salt, info, keyLen)
	if err != nil {
		return nil, fmt.Errorf("derive the %s key: %w", cipherName, err)
	}
	b, err := block(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cipherName, err)
	}
	return cipher.NewGCM(b)
}
