package keyring

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// CacheService is the service name under which CacheKey keeps keys.
const CacheService = "entrakit token cache"

// KeySource is a key that seals entrakit's token cache at rest, kept by the operating system
// for the current user: a cache.KeySource (give it to cache.EncryptionOptions.Keys).
type KeySource struct {
	store Writer // nil: DPAPI (Windows)
	name  string
}

// CacheKey returns the key for sealing a token cache that the operating system keeps under
// name (one key per name; an application names its cache): in the Secret Service (the login
// keyring of gnome-keyring or KWallet) on Linux and the Keychain on macOS, as CacheService/name;
// on Windows, protected with DPAPI (only this user on this machine can unprotect it) in a file
// under %LOCALAPPDATA%\entrakit\keys. It is made on first use. A locked keyring, or no D-Bus
// session bus (a server, a container), makes it unavailable at once, and the next key source is
// tried; nothing ever prompts.
func CacheKey(name string) *KeySource {
	w, _ := Default().(Writer)
	return &KeySource{store: w, name: name}
}

// CacheKeyIn is CacheKey in a given store (a SecretService on another bus, say).
func CacheKeyIn(store Writer, name string) *KeySource { return &KeySource{store: store, name: name} }

// Describe names the source; it never includes the key.
func (k *KeySource) Describe() string {
	if k.store == nil {
		return fmt.Sprintf("DPAPI (%q)", k.name)
	}
	return fmt.Sprintf("the OS keyring (%q)", k.name)
}

// Key returns the key, making and keeping a new one when create is true and there is none (or
// the stored one is unusable: a lost key means a new key, never an error loop).
func (k *KeySource) Key(ctx context.Context, create bool) ([]byte, error) {
	if k.store == nil {
		return dpapiKey(k.name, create)
	}
	stored, err := k.store.Lookup(ctx, CacheService, k.name)
	switch {
	case err == nil:
		if key, derr := base64.StdEncoding.DecodeString(stored); derr == nil && len(key) == 32 {
			return key, nil
		}
		if !create {
			return nil, fmt.Errorf("%w: the stored key is unusable", ErrNotFound)
		}
	case !errors.Is(err, ErrNotFound) || !create:
		return nil, err // unavailable (locked, no bus, ...), or none and none to be made
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := k.store.Put(ctx, "entrakit token cache key ("+k.name+")", CacheService, k.name, base64.StdEncoding.EncodeToString(key)); err != nil {
		return nil, err
	}
	return key, nil
}
