package standin

import (
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

func pidInFile(t *testing.T, b *Backend) int {
	t.Helper()
	raw, err := os.ReadFile(b.PIDFile())
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestFaultsAndClear(t *testing.T) {
	b := start(t, Options{})
	if pidInFile(t, b) != os.Getpid() {
		t.Fatal("the pid file does not name the running service")
	}

	// Port taken: the service is down and another process listens.
	if err := b.Inject(FaultPortTaken); err != nil {
		t.Fatal(err)
	}
	if b.State().Running {
		t.Fatal("service still running with its port taken")
	}
	if c, err := net.Dial("tcp", b.svcAddr); err != nil {
		t.Fatalf("nobody holds the port: %v", err)
	} else {
		c.Close()
	}
	if err := b.Start(); err == nil {
		t.Fatal("the service started on a port another process holds")
	}
	if err := b.Clear(); err != nil {
		t.Fatal(err)
	}
	if resp, err := http.Get(b.URL() + "/health"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after clear: %v %v", resp, err)
	}

	// Process gone: the pid file names a pid that is not running.
	if err := b.Inject(FaultProcessGone); err != nil {
		t.Fatal(err)
	}
	if pid := pidInFile(t, b); pid == os.Getpid() || pid <= 0 {
		t.Fatalf("pid file names %d", pid)
	}
	if err := b.Clear(); err != nil {
		t.Fatal(err)
	}
	if pidInFile(t, b) != os.Getpid() || !b.State().Running {
		t.Fatal("clear did not bring the service back under its own pid")
	}

	// Disk filling and memory growth stop and are released by clear.
	if err := b.Inject(FaultDiskFilling); err != nil {
		t.Fatal(err)
	}
	if err := b.Inject(FaultMemoryGrowth); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first fill file", func() bool { _, err := os.Stat(b.fillPath(0)); return err == nil })
	waitFor(t, "the first memory step", func() bool {
		b.flt.mu.Lock()
		defer b.flt.mu.Unlock()
		return len(b.flt.memory) > 0
	})
	if err := b.Clear(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.fillPath(0)); !os.IsNotExist(err) {
		t.Fatalf("fill file left after clear: %v", err)
	}
	b.flt.mu.Lock()
	held := len(b.flt.memory)
	b.flt.mu.Unlock()
	if held != 0 {
		t.Fatalf("%d memory steps held after clear", held)
	}
	if err := b.Inject("meltdown"); err == nil || !strings.Contains(err.Error(), `unknown fault "meltdown"`) {
		t.Fatalf("unknown fault: %v", err)
	}
}
