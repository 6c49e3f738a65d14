package logs

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// A log truncated while mapped (copytruncate rotation) must give an error,
// not crash the bot with SIGBUS.
func TestTruncatedWhileMappedIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte(strings.Repeat("2026-11-25T10:00:00Z INFO filler line\n", 200000)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, done, err := mapper(f)(0, 4<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	m, err := compileMatcher("NEEDLE", false, false)
	if err != nil {
		t.Fatal(err)
	}
	s := newScanner(scanOpts{m: m})
	got := make(chan blockResult)
	go func() {
		debug.SetPanicOnFault(true)
		got <- s.safeScan(data, 0, m.newFinder(nil))
	}()
	if r := <-got; r.err == nil || !strings.Contains(r.err.Error(), "shrank") {
		t.Fatalf("err %v, want a shrank error", r.err)
	}
}
