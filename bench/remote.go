package bench

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

// remoteEnv makes a benchmark binary serve the fake Entra instead (see ServeRemoteIfAsked).
const remoteEnv = "ENTRAKIT_BENCH_REMOTE_FAKE"

// Remote is a fake Entra running in another process, so that what a benchmark measures in its
// own process (CPU time, allocations) is the client's alone: the fake's RSA signing and JSON
// encoding happen elsewhere.
type Remote struct {
	URL, Host, Tenant string
	Client            *http.Client // trusts the fake's certificate; keeps connections alive
	control           string       // base URL of the control endpoints
	cmd               *exec.Cmd
	stdin             io.Closer
}

type remoteHello struct {
	URL, Host, Tenant, Control string
	CA                         []byte
}

// ServeRemoteIfAsked serves the fake Entra and exits when this process was started by
// StartRemote; call it first thing in TestMain and in main.
func ServeRemoteIfAsked() {
	if os.Getenv(remoteEnv) == "" {
		return
	}
	srv := NewServer(&entratest.Options{CodeLifetime: 24 * time.Hour, RefreshTokenLifetime: 48 * time.Hour})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /codes", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		codes := make([]string, n)
		for i := range codes {
			codes[i] = srv.IssueCode(entratest.CodeRequest{ClientID: ClientID, RedirectURI: Redirect, Scopes: []string{"openid", "offline_access"}})
		}
		_ = json.NewEncoder(w).Encode(codes)
	})
	mux.HandleFunc("GET /refresh-token", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, srv.IssueRefreshToken(ClientID, entratest.User{}))
	})
	mux.HandleFunc("GET /token-requests", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, srv.TokenRequests())
		srv.ResetLog() // the log would grow with every request of a long benchmark
	})
	go func() { _ = http.Serve(ln, mux) }()
	_ = json.NewEncoder(os.Stdout).Encode(remoteHello{URL: srv.URL(), Host: srv.Host(), Tenant: srv.TenantID(), Control: "http://" + ln.Addr().String(), CA: srv.CertificatePEM()})
	_, _ = io.Copy(io.Discard, os.Stdin) // until the benchmark closes our stdin
	srv.Close()
	os.Exit(0)
}

// StartRemote starts the fake in a new process of this binary.
func StartRemote(tb TB) *Remote {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), remoteEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var hello remoteHello
	if err := json.NewDecoder(bufio.NewReader(stdout)).Decode(&hello); err != nil {
		tb.Fatal("the remote fake did not start: ", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(hello.CA)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}
	return &Remote{URL: hello.URL, Host: hello.Host, Tenant: hello.Tenant, Client: client, control: hello.Control, cmd: cmd, stdin: stdin}
}

// Close stops the fake.
func (r *Remote) Close() {
	r.stdin.Close()
	_ = r.cmd.Wait()
	r.Client.CloseIdleConnections()
}

func (r *Remote) get(tb TB, path string, v any) {
	tb.Helper()
	resp, err := http.Get(r.control + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if s, ok := v.(*string); ok {
		b, _ := io.ReadAll(resp.Body)
		*s = string(b)
		return
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		tb.Fatal(err)
	}
}

// Codes returns n fresh authorization codes for ClientID and Redirect.
func (r *Remote) Codes(tb TB, n int) []string {
	var codes []string
	r.get(tb, "/codes?n="+strconv.Itoa(n), &codes)
	return codes
}

// RefreshToken returns a refresh token of the default user for ClientID.
func (r *Remote) RefreshToken(tb TB) string {
	var rt string
	r.get(tb, "/refresh-token", &rt)
	return rt
}

// TokenRequests returns the token requests since the last call.
func (r *Remote) TokenRequests(tb TB) int {
	var n int
	r.get(tb, "/token-requests", &n)
	return n
}

// TokenURL is the token endpoint of the fake's tenant.
func (r *Remote) TokenURL() string { return r.URL + "/" + r.Tenant + "/oauth2/v2.0/token" }
