package main

import (
	"strings"
	"testing"
)

// A piped shell runs no background work, yet the console's configured
// subscription (no chat token: alerts go to the console) is a route there:
// `subscriptions test` shows where an alert would go, not "not posted".
func TestPipedShellRoutesTheConsoleSubscription(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, code := opsbot(t, dir, "subscriptions test kind=threshold severity=critical target=api\nsubscriptions\n", nil, "shell")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "not posted") || !strings.Contains(out, "receiver subscription console/threshold → console") {
		t.Fatalf("subscriptions test in a piped shell:\n%s", out)
	}
}
