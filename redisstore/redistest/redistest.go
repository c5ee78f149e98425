// Package redistest runs a redis-server of a test's own, on a free loopback port, for tests of
// entrakit's Redis store and of programs built on it.
//
// # Security considerations
//
// The server it starts has no password and no TLS: it listens on 127.0.0.1 only, for the length
// of one test, and MUST NOT hold anything but test data.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RequireEnv, when set (CI sets it), turns a missing redis-server into a failure instead of
// a skip, so that the Redis tests can never silently stop running.
const RequireEnv = "ENTRAKIT_REQUIRE_REDIS"

// Server is a redis-server of the test's own on a free loopback port, without persistence.
type Server struct {
	t    testing.TB
	port int
	args []string
	cmd  *exec.Cmd
}

// Start starts a redis-server with the extra arguments args (skipping the test when there is
// none, or failing it under RequireEnv) and stops it when the test ends.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("redis-server is not installed, and %s requires the Redis tests", RequireEnv)
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	s := &Server{t: t, args: args}
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if err := s.Restart(); err == nil {
			break
		} else if attempt == 4 {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Restart runs the server (again, after Stop) on its port and waits until it answers. Its data
// is gone: it keeps none.
func (s *Server) Restart() error {
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", os.TempDir(), "--loglevel", "warning"}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	s.cmd.SysProcAttr = procAttr()
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	for {
		select {
		case err := <-done:
			s.cmd = nil
			return fmt.Errorf("redis-server ended: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			go func() { <-done }()
			return nil
		}
		time.Sleep(5 * time.Millisecond) // polling a starting process; not a test's timing
	}
}

// Stop kills the server; the port is free when it returns.
func (s *Server) Stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		s.cmd = nil
		// The port is free once the process is gone; start waits for it to answer again.
		for {
			conn, err := net.DialTimeout("tcp", s.Addr(), 50*time.Millisecond)
			if err != nil {
				return
			}
			conn.Close()
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// Client returns a client of the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	return c
}
