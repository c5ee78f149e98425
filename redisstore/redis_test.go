package redisstore

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

// RequireRedisEnv, when set (CI sets it), turns a missing redis-server into a failure instead of
// a skip, so that the Redis tests can never silently stop running.
const RequireRedisEnv = "ENTRAKIT_REQUIRE_REDIS"

// redisServer is a redis-server of the test's own on a free loopback port, without persistence.
type redisServer struct {
	t    testing.TB
	port int
	args []string
	cmd  *exec.Cmd
}

// startRedis starts a redis-server (skipping the test when there is none) and stops it when the
// test ends.
func startRedis(t testing.TB, args ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv(RequireRedisEnv) != "" {
			t.Fatalf("redis-server is not installed, and %s requires the Redis tests", RequireRedisEnv)
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
	s := &redisServer{t: t, args: args}
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.port = ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if err := s.start(); err == nil {
			break
		} else if attempt == 4 {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs the server on its port and waits until it answers.
func (s *redisServer) start() error {
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", os.TempDir(), "--loglevel", "warning"}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
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

func (s *redisServer) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		s.cmd = nil
		// The port is free once the process is gone; start waits for it to answer again.
		for {
			conn, err := net.DialTimeout("tcp", s.addr(), 50*time.Millisecond)
			if err != nil {
				return
			}
			conn.Close()
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (s *redisServer) client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	return c
}
