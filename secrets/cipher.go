package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// EnvKey is the environment variable that holds the base64-encoded 32-byte key.
const EnvKey = "MAPSYNC_SECRET_KEY"

// ErrNoKey is returned when MAPSYNC_SECRET_KEY is not set.
var ErrNoKey = errors.New(EnvKey + " is not set: generate a key with `mapsync keygen` (or `openssl rand -base64 32`) and export it")

// Cipher seals and opens secrets with AES-256-GCM. The nonce is random per seal and stored in
// front of the ciphertext; the associated data binds a ciphertext to its row (e.g. the
// connection name), so a ciphertext copied to another row does not open.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher for a 32-byte key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padded or not) into a Cipher. The
// error never contains the key.
func ParseKey(encoded string) (*Cipher, error) {
	encoded = strings.TrimSpace(encoded)
	if encoded == "" {
		return nil, ErrNoKey
	}
	var key []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err = enc.DecodeString(encoded); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s is not valid base64: generate a key with `mapsync keygen`", EnvKey)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s must decode to 32 bytes, got %d: generate a key with `mapsync keygen`", EnvKey, len(key))
	}
	return NewCipher(key)
}

// FromEnv reads the key from MAPSYNC_SECRET_KEY.
func FromEnv() (*Cipher, error) {
	return ParseKey(os.Getenv(EnvKey))
}

// GenerateKey returns a new random key, base64-encoded.
func GenerateKey() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// Seal encrypts plaintext bound to associated data ad.
func (c *Cipher) Seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return c.aead.Seal(nonce, nonce, plaintext, ad), nil
}

// ErrDecrypt is returned when a ciphertext does not open: a different key, another row's
// ciphertext, or corruption.
var ErrDecrypt = errors.New("cannot decrypt stored secret: " + EnvKey + " differs from the key it was sealed with, or the data is corrupt")

// Open decrypts a ciphertext made by Seal with the same associated data.
func (c *Cipher) Open(ciphertext, ad []byte) ([]byte, error) {
	n := c.aead.NonceSize()
	if len(ciphertext) < n+c.aead.Overhead() {
		return nil, ErrDecrypt
	}
	plain, err := c.aead.Open(nil, ciphertext[:n], ciphertext[n:], ad)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plain, nil
}
