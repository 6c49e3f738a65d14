package app

import (
	"bytes"
	"strings"
	"testing"
)

// Agent mode is for a fleet on PostgreSQL: with SQLite it says so in one
// line and starts nothing.
func TestAgentNeedsPostgres(t *testing.T) {
	t.Setenv("OPSBOT_STORE_DSN", t.TempDir()+"/opsbot.db")
	var out, errb bytes.Buffer
	code := Main([]string{"agent"}, "test", strings.NewReader(""), &out, &errb)
	want := "opsbot: agent mode needs the shared PostgreSQL store (store.driver: postgres); SQLite serves one host only\n"
	if code != 1 || errb.String() != want {
		t.Fatalf("code %d, stderr %q", code, errb.String())
	}
}
