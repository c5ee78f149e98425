package redistest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const childEnv = "REDISTEST_CHILD"

// A redis-server never outlives its test process: killed with SIGKILL (no cleanup runs), the
// test takes its server with it.
func TestTheServerEndsWithItsTestProcess(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		s := Start(t)
		os.Stdout.WriteString(s.Addr() + "\n")
		select {} // until killed
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		Start(t) // skips, or fails under RequireEnv
	}
	child := exec.Command(os.Args[0], "-test.run=^TestTheServerEndsWithItsTestProcess$")
	child.Env = append(os.Environ(), childEnv+"=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = child.Process.Kill()
		t.Fatalf("the child test did not start a server: %v", err)
	}
	addr = strings.TrimSpace(addr)
	if c, err := net.Dial("tcp", addr); err != nil {
		t.Fatalf("the child's server does not answer: %v", err)
	} else {
		c.Close()
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	// The kernel delivers the death signal at once; the port closes when the server is gone.
	// Polled, not timed: the test fails only if the server is still there after many tries.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if i == 2000 {
			t.Fatalf("the server at %s outlived its test process", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
