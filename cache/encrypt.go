package cache

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// EncryptedStore seals every partition an inner Store keeps with AES-256-GCM, so that tokens
// at rest are unreadable without the key, which is kept elsewhere (the OS keyring, DPAPI, an
// environment variable, a mounted secret). Each sealed blob carries the ID of its key (so keys
// can be rotated) and is bound to its partition and format version (the additional data), so
// that a blob moved to another account's partition, or tampered with, is rejected. It is a
// Store: give it to Options.Store.
//
// Keys are loaded on first use and kept in memory. A key that is lost (a new machine, a
// keyring that did not survive) means an empty cache and a new key; a blob sealed with a key
// that is not at hand is unreadable, logged and left as it is until a good save replaces it.
// When no source yields a key, saves fail (logged) and the credentials keep working from memory;
// the sources are asked again after a minute.
type EncryptedStore struct {
	inner Store
	srcs  []KeySource
	log   *slog.Logger

	mu       sync.Mutex
	sealer   *aeadKey            // the key new blobs are sealed with; nil in plaintext mode
	openers  map[string]*aeadKey // every key at hand, by ID
	ready    bool                // the sealing key (or plaintext) is chosen
	asked    bool                // every source was asked for opening keys
	failed   error               // no source yielded a key...
	failedAt time.Time           // ...when it was last tried
}

var _ Store = (*EncryptedStore)(nil)

// EncryptionOptions configure NewEncryptedStore.
type EncryptionOptions struct {
	// Keys are where the key comes from, tried in order: the first that yields a key seals
	// what is saved (a source that keeps keys, such as keyring.CacheKey, makes one when it has
	// none), and a blob sealed with a key of any of them opens. To rotate, put the new key
	// first and the old one after it. Required; InsecurePlaintext says, by name, to store
	// tokens unencrypted.
	Keys []KeySource
	// Logger receives each source's outcome and problems with blobs (never a key or a token);
	// nil is silent.
	Logger *slog.Logger
}

// NewEncryptedStore returns inner sealed with the keys of opts. It does no I/O: the keys are
// read on first use.
func NewEncryptedStore(inner Store, opts *EncryptionOptions) (*EncryptedStore, error) {
	if inner == nil {
		return nil, errors.New("cache: NewEncryptedStore needs a store")
	}
	if opts == nil {
		opts = &EncryptionOptions{}
	}
	srcs := opts.Keys
	if len(srcs) == 0 {
		return nil, errors.New("cache: EncryptionOptions.Keys is required (such as keyring.CacheKey(name) or KeyFromEnv(variable); InsecurePlaintext to store tokens unencrypted)")
	}
	for i, s := range srcs {
		if s == nil {
			return nil, fmt.Errorf("cache: EncryptionOptions.Keys[%d] is nil", i)
		}
	}
	return &EncryptedStore{inner: inner, srcs: srcs, log: opts.Logger, openers: map[string]*aeadKey{}}, nil
}

// sealMagic starts a sealed blob: magic, key ID (8 bytes), nonce (12 bytes), ciphertext.
var sealMagic = []byte("entrakit-sealed-1\n")

const keyIDSize = 8

type aeadKey struct {
	id   string
	aead cipher.AEAD
}

func newAEADKey(key []byte) (*aeadKey, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("cache: a key is 32 bytes (AES-256), not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// A random 96-bit nonce per seal, made by the GCM itself and written before the
	// ciphertext: the form FIPS 140-3 approves (GODEBUG=fips140=only refuses a nonce the caller
	// chooses).
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &aeadKey{id: keyID(key), aead: aead}, nil
}

// keyID names a key without revealing it.
func keyID(key []byte) string {
	h := sha256.New()
	h.Write([]byte("entrakit cache key id\x00"))
	h.Write(key)
	return string(h.Sum(nil)[:keyIDSize])
}

// additionalData binds a blob to its partition and format version.
func additionalData(key string) []byte {
	return []byte("entrakit partition v" + strconv.Itoa(FormatVersion) + " " + key)
}

// load chooses the sealing key: the first source that yields one (or plaintext, when
// InsecurePlaintext comes first).
func (s *EncryptedStore) load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	if s.failed != nil && time.Since(s.failedAt) < time.Minute {
		return s.failed
	}
	var reasons []error
	for _, src := range s.srcs {
		key, err := src.Key(ctx, true)
		if err != nil {
			s.note(ctx, slog.LevelWarn, "cache: a key source is unavailable", src, err)
			reasons = append(reasons, fmt.Errorf("%s: %w", src.Describe(), err))
			continue
		}
		if key == nil { // InsecurePlaintext
			s.note(ctx, slog.LevelWarn, "cache: tokens are stored UNENCRYPTED, as the options ask", src, nil)
			s.ready = true
			return nil
		}
		k, err := newAEADKey(key)
		if err != nil {
			reasons = append(reasons, fmt.Errorf("%s: %w", src.Describe(), err))
			continue
		}
		s.note(ctx, slog.LevelInfo, "cache: tokens are sealed with a key", src, nil)
		s.sealer, s.openers[k.id], s.ready = k, k, true
		return nil
	}
	s.failed, s.failedAt = fmt.Errorf("%w: no key source yielded a key: %w", ErrUnreadable, errors.Join(reasons...)), time.Now()
	return s.failed
}

// opener returns the key with the given ID, asking every source once (without making keys)
// when it is not at hand.
func (s *EncryptedStore) opener(ctx context.Context, id string) *aeadKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.openers[id]; k != nil || s.asked {
		return k
	}
	s.asked = true
	for _, src := range s.srcs {
		if key, err := src.Key(ctx, false); err == nil && key != nil {
			if k, err := newAEADKey(key); err == nil {
				s.openers[k.id] = k
			}
		}
	}
	return s.openers[id]
}

func (s *EncryptedStore) note(ctx context.Context, level slog.Level, msg string, src KeySource, err error) {
	if s.log == nil {
		return
	}
	attrs := []slog.Attr{slog.String("source", src.Describe())}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	s.log.LogAttrs(ctx, level, msg, attrs...)
}

// Lock implements Store.
func (s *EncryptedStore) Lock(ctx context.Context, key string) (func(), error) {
	return s.inner.Lock(ctx, key)
}

// List implements Store.
func (s *EncryptedStore) List(ctx context.Context) ([]string, error) { return s.inner.List(ctx) }

// Delete implements Store.
func (s *EncryptedStore) Delete(ctx context.Context, key string) error {
	return s.inner.Delete(ctx, key)
}

// Load implements Store: it opens the inner store's blob. A blob that is not sealed (unless the
// store runs in plaintext), sealed with a key not at hand, tampered with, or moved from
// another partition is an error wrapping ErrUnreadable, returned with the blob's version.
func (s *EncryptedStore) Load(ctx context.Context, key, since string) ([]byte, string, error) {
	data, version, err := s.inner.Load(ctx, key, since)
	if err != nil || data == nil {
		return data, version, err
	}
	if err := s.load(ctx); err != nil {
		return nil, version, err
	}
	plain, err := s.open(ctx, key, data)
	if err != nil {
		return nil, version, err // the version, so that a good save can replace the blob
	}
	return plain, version, nil
}

func (s *EncryptedStore) open(ctx context.Context, key string, data []byte) ([]byte, error) {
	s.mu.Lock()
	plaintextMode := s.sealer == nil
	s.mu.Unlock()
	rest, sealed := bytes.CutPrefix(data, sealMagic)
	switch {
	case !sealed && plaintextMode:
		return data, nil
	case !sealed:
		return nil, fmt.Errorf("%w: the stored partition is not sealed, and this store seals (a planted or older plaintext file?)", ErrUnreadable)
	case len(rest) < keyIDSize+12:
		return nil, fmt.Errorf("%w: a sealed partition is truncated", ErrUnreadable)
	}
	k := s.opener(ctx, string(rest[:keyIDSize]))
	if k == nil {
		return nil, fmt.Errorf("%w: the partition is sealed with a key none of the key sources has (a lost or rotated key)", ErrUnreadable)
	}
	plain, err := k.aead.Open(nil, nil, rest[keyIDSize:], additionalData(key)) // nonce, ciphertext
	if err != nil {
		return nil, fmt.Errorf("%w: a sealed partition fails authentication (tampered with, or moved from another partition)", ErrUnreadable)
	}
	return plain, nil
}

// Save implements Store: it seals data and saves it in the inner store.
func (s *EncryptedStore) Save(ctx context.Context, key string, data []byte, prev string) (string, error) {
	if err := s.load(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	k := s.sealer
	s.mu.Unlock()
	if k == nil {
		return s.inner.Save(ctx, key, data, prev)
	}
	out := make([]byte, 0, len(sealMagic)+keyIDSize+len(data)+k.aead.Overhead())
	out = append(out, sealMagic...)
	out = append(out, k.id...)
	out = k.aead.Seal(out, nil, data, additionalData(key)) // appends a fresh nonce, then the ciphertext
	return s.inner.Save(ctx, key, out, prev)
}
