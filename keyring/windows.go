//go:build windows

package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

var (
	advapi32               = syscall.NewLazyDLL("advapi32.dll")
	procCredRead           = advapi32.NewProc("CredReadW")
	procCredFree           = advapi32.NewProc("CredFree")
	crypt32                = syscall.NewLazyDLL("crypt32.dll")
	procCryptProtectData   = crypt32.NewProc("CryptProtectData")
	procCryptUnprotectData = crypt32.NewProc("CryptUnprotectData")
	kernel32               = syscall.NewLazyDLL("kernel32.dll")
	procLocalFree          = kernel32.NewProc("LocalFree")
)

const (
	credTypeGeneric = 1
	errorNotFound   = syscall.Errno(1168)
)

// winCredential is CREDENTIALW (wincred.h).
type winCredential struct {
	Flags              uint32
	Type               uint32
	TargetName         *uint16
	Comment            *uint16
	LastWritten        syscall.Filetime
	CredentialBlobSize uint32
	CredentialBlob     *byte
	Persist            uint32
	AttributeCount     uint32
	Attributes         uintptr
	TargetAlias        *uint16
	UserName           *uint16
}

// CredentialManager reads generic credentials from the Windows Credential Manager, target
// "SERVICE/ACCOUNT" (as keytar stored them), with CredReadW.
type CredentialManager struct{}

var _ Store = CredentialManager{}

// Lookup implements SecretStore.
func (CredentialManager) Lookup(ctx context.Context, service, account string) (string, error) {
	target, err := syscall.UTF16PtrFromString(service + "/" + account)
	if err != nil {
		return "", fmt.Errorf("keyring: invalid credential target: %w", err)
	}
	var cred *winCredential
	r, _, callErr := procCredRead.Call(uintptr(unsafe.Pointer(target)), credTypeGeneric, 0, uintptr(unsafe.Pointer(&cred)))
	if r == 0 {
		if errors.Is(callErr, errorNotFound) {
			return "", fmt.Errorf("%w: target %q", ErrNotFound, service+"/"+account)
		}
		return "", fmt.Errorf("%w: CredReadW: %w", ErrUnavailable, callErr)
	}
	defer procCredFree.Call(uintptr(unsafe.Pointer(cred)))
	if cred.CredentialBlobSize > maxSecretLength {
		return "", errors.New("keyring: the stored secret is implausibly large")
	}
	blob := unsafe.Slice(cred.CredentialBlob, cred.CredentialBlobSize)
	return string(blob), nil // string() copies before CredFree
}

// Default returns the store of this operating system: the Credential Manager.
func Default() Store { return CredentialManager{} }

// dataBlob is DATA_BLOB (dpapi.h).
type dataBlob struct {
	Size uint32
	Data *byte
}

func newBlob(b []byte) *dataBlob {
	if len(b) == 0 {
		return &dataBlob{}
	}
	return &dataBlob{Size: uint32(len(b)), Data: &b[0]}
}

func (b *dataBlob) bytesAndFree() []byte {
	out := make([]byte, b.Size)
	copy(out, unsafe.Slice(b.Data, b.Size))
	procLocalFree.Call(uintptr(unsafe.Pointer(b.Data)))
	return out
}

const cryptprotectUIForbidden = 0x1

// Protect encrypts data with DPAPI for the current user (CryptProtectData, never prompting):
// only this user on this machine can Unprotect it.
func Protect(data []byte) ([]byte, error) {
	var out dataBlob
	r, _, err := procCryptProtectData.Call(uintptr(unsafe.Pointer(newBlob(data))), 0, 0, 0, 0, cryptprotectUIForbidden, uintptr(unsafe.Pointer(&out)))
	if r == 0 {
		return nil, fmt.Errorf("%w: CryptProtectData: %w", ErrUnavailable, err)
	}
	return out.bytesAndFree(), nil
}

// Unprotect decrypts what Protect returned, for the same user on the same machine.
func Unprotect(blob []byte) ([]byte, error) {
	var out dataBlob
	r, _, err := procCryptUnprotectData.Call(uintptr(unsafe.Pointer(newBlob(blob))), 0, 0, 0, 0, cryptprotectUIForbidden, uintptr(unsafe.Pointer(&out)))
	if r == 0 {
		return nil, fmt.Errorf("%w: CryptUnprotectData: %w", ErrUnavailable, err)
	}
	return out.bytesAndFree(), nil
}

// dpapiKey keeps a cache key protected with DPAPI in %LOCALAPPDATA%\entrakit\keys.
func dpapiKey(name string, create bool) ([]byte, error) {
	dir := os.Getenv("LOCALAPPDATA")
	if dir == "" {
		return nil, fmt.Errorf("%w: LOCALAPPDATA is not set", ErrUnavailable)
	}
	sum := sha256.Sum256([]byte(name))
	p := filepath.Join(dir, "entrakit", "keys", hex.EncodeToString(sum[:8])+".key")
	if blob, err := os.ReadFile(p); err == nil {
		if key, err := Unprotect(blob); err == nil && len(key) == 32 {
			return key, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("keyring: reading %s: %w", p, err)
	}
	if !create {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, p)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	blob, err := Protect(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p, blob, 0o600); err != nil {
		return nil, fmt.Errorf("keyring: writing %s: %w", p, err)
	}
	return key, nil
}
