package cache

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/entrakit/entrakit/internal/safefile"
)

// KeySource yields the 256-bit key an EncryptedStore seals partitions with. Besides the
// sources here, keyring.CacheKey keeps a key in the OS keyring (the Secret Service, the
// Keychain) or DPAPI; it is in package keyring so that programs that do not use it do not link
// a D-Bus client.
type KeySource interface {
	// Describe names the source for logs and errors ("the OS keyring", "$MYAPP_KEY"). It never
	// includes the key.
	Describe() string
	// Key returns the source's 32-byte key. When create is true, a source that can keep a key
	// (the OS keyring) makes and keeps a new random one when it has none; otherwise it returns
	// an error (wrapping ErrNoKey for the sources of this package; keyring's wraps
	// keyring.ErrNotFound). InsecurePlaintext returns a nil key.
	Key(ctx context.Context, create bool) ([]byte, error)
}

// ErrNoKey is wrapped when a key source holds no key.
var ErrNoKey = errors.New("cache: the key source holds no key")

// StaticKey is a key the application holds (32 bytes).
func StaticKey(key []byte) KeySource { return staticKey{key: bytes.Clone(key)} }

type staticKey struct{ key []byte }

func (staticKey) Describe() string { return "a key the application gave" }

func (k staticKey) Key(context.Context, bool) ([]byte, error) {
	if len(k.key) != 32 {
		return nil, fmt.Errorf("cache: a key is 32 bytes, not %d", len(k.key))
	}
	return k.key, nil
}

// KeyFromEnv is a key in an environment variable, base64 (standard or URL alphabet, padded or
// not) of 32 bytes; `openssl rand -base64 32` makes one.
func KeyFromEnv(variable string) KeySource { return envKey{name: variable} }

type envKey struct{ name string }

func (k envKey) Describe() string { return "$" + k.name }

func (k envKey) Key(context.Context, bool) ([]byte, error) {
	v, ok := os.LookupEnv(k.name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: $%s is not set", ErrNoKey, k.name)
	}
	return decodeKey(v)
}

// KeyFromFile is a key in a file (such as a mounted Kubernetes secret): 32 raw bytes, or their
// base64. It must be a regular file (a symbolic link to one is fine), is read through a size
// limit without blocking on a FIFO, and is never echoed in an error.
func KeyFromFile(path string) KeySource { return fileKey{path: path} }

type fileKey struct{ path string }

func (k fileKey) Describe() string { return "the key file " + k.path }

func (k fileKey) Key(context.Context, bool) ([]byte, error) {
	b, err := safefile.ReadRegular(k.path, 1024) // a FIFO planted at the path fails, never blocks
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoKey, k.path)
	}
	if err != nil {
		return nil, fmt.Errorf("cache: reading the key file: %w", err)
	}
	if len(b) == 32 {
		return b, nil
	}
	return decodeKey(string(b))
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != 32 {
				return nil, fmt.Errorf("cache: the key is %d bytes; a key is 32 bytes (openssl rand -base64 32)", len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("cache: the key is not base64 of 32 bytes (openssl rand -base64 32)")
}

// InsecurePlaintext, as a key source, stores partitions UNENCRYPTED. It exists so that choosing
// plaintext is explicit: put it last to keep working where no key can be had, or alone for
// development. Tokens at rest are then as safe as the file's permissions make them; production
// MUST NOT rely on it where the OS keyring or a mounted key is available.
var InsecurePlaintext KeySource = plaintext{}

type plaintext struct{}

func (plaintext) Describe() string                          { return "InsecurePlaintext" }
func (plaintext) Key(context.Context, bool) ([]byte, error) { return nil, nil }
