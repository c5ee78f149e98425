package signin

import (
	"html/template"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// OpenSystemBrowser opens a URL in the user's browser (xdg-open, open, or the Windows URL
// handler), without a shell. Whatever it is given appears on a process's command line, which
// every local user can read: Loopback gives it only the URL of a private file.
func OpenSystemBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	case "darwin":
		cmd = exec.Command("open", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

var startPage = template.Must(template.New("start").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url={{.}}"><title>Signing in</title></head>
<body><p>Signing in with Microsoft… <a href="{{.}}">Continue</a></p></body></html>
`))

// openPrivately opens the browser on a private file that redirects to authorizeURL, so that
// the authorize URL (its state and PKCE challenge) is on no command line: the file is 0600 in
// a 0700 directory, readable by this user alone. The returned cleanup removes it.
func openPrivately(authorizeURL string, open func(string) error) (cleanup func(), err error) {
	if open == nil {
		open = OpenSystemBrowser
	}
	dir, err := os.MkdirTemp("", "entrakit-signin-")
	if err != nil {
		return func() {}, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, "signin.html")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return cleanup, err
	}
	err = startPage.Execute(f, template.URL(authorizeURL))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cleanup, err
	}
	return cleanup, open(fileURL(path))
}

// fileURL is the file: URL of an absolute path.
func fileURL(path string) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // C:/... on Windows
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}
