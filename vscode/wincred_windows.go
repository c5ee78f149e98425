//go:build windows

package vscode

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

var (
	advapi32     = syscall.NewLazyDLL("advapi32.dll")
	procCredRead = advapi32.NewProc("CredReadW")
	procCredFree = advapi32.NewProc("CredFree")
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

var _ SecretStore = CredentialManager{}

// Lookup implements SecretStore.
func (CredentialManager) Lookup(ctx context.Context, service, account string) (string, error) {
	target, err := syscall.UTF16PtrFromString(service + "/" + account)
	if err != nil {
		return "", fmt.Errorf("vscode: invalid credential target: %w", err)
	}
	var cred *winCredential
	r, _, callErr := procCredRead.Call(uintptr(unsafe.Pointer(target)), credTypeGeneric, 0, uintptr(unsafe.Pointer(&cred)))
	if r == 0 {
		if errors.Is(callErr, errorNotFound) {
			return "", fmt.Errorf("%w: target %q", ErrSecretNotFound, service+"/"+account)
		}
		return "", fmt.Errorf("%w: CredReadW: %v", ErrStoreUnavailable, callErr)
	}
	defer procCredFree.Call(uintptr(unsafe.Pointer(cred)))
	if cred.CredentialBlobSize > maxSecretLength {
		return "", errors.New("vscode: the stored secret is implausibly large")
	}
	blob := unsafe.Slice(cred.CredentialBlob, cred.CredentialBlobSize)
	return string(blob), nil // string() copies before CredFree
}

func defaultSecretStore() SecretStore { return CredentialManager{} }
