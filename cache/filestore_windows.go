//go:build windows

package cache

import (
	"fmt"
	"io/fs"
	"syscall"
	"unsafe"
)

// openNoFollow has no equivalent flag on Windows; the checks below refuse what is not a regular
// file.
const openNoFollow = 0

var (
	advapi32                 = syscall.NewLazyDLL("advapi32.dll")
	procConvertStringSD      = advapi32.NewProc("ConvertStringSecurityDescriptorToSecurityDescriptorW")
	procGetSecurityDescDacl  = advapi32.NewProc("GetSecurityDescriptorDacl")
	procSetNamedSecurityInfo = advapi32.NewProc("SetNamedSecurityInfoW")
	procGetNamedSecurityInfo = advapi32.NewProc("GetNamedSecurityInfoW")
	procLocalFree            = kernel32.NewProc("LocalFree")
)

const (
	seFileObject                    = 1
	ownerSecurityInformation        = 0x1
	daclSecurityInformation         = 0x4
	protectedDaclSecurityInfomation = 0x80000000
)

// currentUserSID returns the SID of the user this process runs as, as a string.
func currentUserSID() (string, error) {
	tok, err := syscall.OpenCurrentProcessToken()
	if err != nil {
		return "", err
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return "", err
	}
	return u.User.Sid.String()
}

// restrictDir gives a directory the cache created an access control list of its own, not
// inherited: full control for the current user and SYSTEM, inherited by the files in it, and
// nobody else.
func restrictDir(path string) error {
	sid, err := currentUserSID()
	if err != nil {
		return fmt.Errorf("cache: reading the current user: %w", err)
	}
	sddl, _ := syscall.UTF16PtrFromString("D:P(A;OICI;FA;;;" + sid + ")(A;OICI;FA;;;SY)")
	var sd uintptr
	if r, _, err := procConvertStringSD.Call(uintptr(unsafe.Pointer(sddl)), 1, uintptr(unsafe.Pointer(&sd)), 0); r == 0 {
		return fmt.Errorf("cache: building the directory's access control list: %w", err)
	}
	defer procLocalFree.Call(sd)
	var present, defaulted int32
	var dacl uintptr
	if r, _, err := procGetSecurityDescDacl.Call(sd, uintptr(unsafe.Pointer(&present)), uintptr(unsafe.Pointer(&dacl)), uintptr(unsafe.Pointer(&defaulted))); r == 0 {
		return fmt.Errorf("cache: building the directory's access control list: %w", err)
	}
	name, _ := syscall.UTF16PtrFromString(path)
	if r, _, _ := procSetNamedSecurityInfo.Call(uintptr(unsafe.Pointer(name)), seFileObject,
		daclSecurityInformation|protectedDaclSecurityInfomation, 0, 0, dacl, 0); r != 0 {
		return fmt.Errorf("cache: restricting %s to the current user: %w", path, syscall.Errno(r))
	}
	return nil
}

// checkDir: the cache directory must be owned by the current user.
func checkDir(path string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("cache: %s is not a directory", path)
	}
	want, err := currentUserSID()
	if err != nil {
		return fmt.Errorf("cache: reading the current user: %w", err)
	}
	name, _ := syscall.UTF16PtrFromString(path)
	var owner *syscall.SID
	var sd uintptr
	if r, _, _ := procGetNamedSecurityInfo.Call(uintptr(unsafe.Pointer(name)), seFileObject, ownerSecurityInformation,
		uintptr(unsafe.Pointer(&owner)), 0, 0, 0, uintptr(unsafe.Pointer(&sd))); r != 0 {
		return fmt.Errorf("cache: reading the owner of %s: %w", path, syscall.Errno(r))
	}
	defer procLocalFree.Call(sd)
	got, err := owner.String()
	if err != nil {
		return fmt.Errorf("cache: reading the owner of %s: %w", path, err)
	}
	if got != want {
		return fmt.Errorf("cache: the cache directory %s belongs to %s, not to this user (%s): use a directory of your own, "+
			"such as one under os.UserCacheDir()", path, got, want)
	}
	return nil
}

// checkFile: a cache file must be a regular file (its access is the directory's, inherited).
func checkFile(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("cache: %s is not a regular file (%v); remove it", path, fi.Mode().Type())
	}
	return nil
}
