package paging_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/store/storetest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The same escalation as the shell shows it: the alert in the console
// channel, each step a reply in its thread, the on-call mentioned by name.
func TestEscalationOnTheConsole(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	var out lockedBuffer
	r.router.Set("console", console.NewPoster(&out))
	if err := r.n.Subscribe(context.Background(), "console", []string{"health"}, "warning", "", "test"); err != nil {
		t.Fatal(err)
	}
	r.fire(t, "api/down", "critical")
	r.pass(t)
	r.at(5 * time.Minute)
	r.pass(t)
	text := out.String()
	var replies []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "↳ [#") {
			replies = append(replies, l)
		}
	}
	want := []string{
		"Escalation step 1 of 4 (critical): alice (primary), please acknowledge. @alice",
		"Escalation step 2 of 4 (critical): paging alice (primary) via pd, hook.",
		"Page via pd to alice: delivered.",
		"Page via hook to alice: delivered.",
	}
	for _, w := range want {
		if count(replies, w) != 1 {
			t.Fatalf("console replies lack %q once:\n%s", w, text)
		}
	}
}
