package console_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store/storetest"
)

func shell(t *testing.T, input string) (string, *atomic.Int32) {
	t.Helper()
	var runs atomic.Int32
	reg := commands.NewRegistry(config.Default, storetest.SQLite(t), nil)
	reg.MustRegister(&commands.Verb{Name: "restart", Summary: "restart", Access: policy.Dangerous, Params: []commands.Param{{Name: "target"}},
		Describe: func(c *commands.Call) string { return "restart " + c.Arg(0) },
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			runs.Add(1)
			c.Progress("restarting %s…", c.Arg(0))
			return commands.Text("restarted %s", c.Arg(0)), nil
		}})
	var out bytes.Buffer
	sh := &console.Shell{Registry: reg, Poster: console.NewPoster(&out), In: strings.NewReader(input), User: "alice"}
	if err := sh.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), &runs
}

func TestShellConfirmsByPrompt(t *testing.T) {
	out, runs := shell(t, "/ops restart api\nyes\nrestart api\nno\nrestart api --yes\nquit\nrestart never-read\n")
	if runs.Load() != 2 {
		t.Fatalf("runs %d:\n%s", runs.Load(), out)
	}
	for _, want := range []string{"[WARNING] Confirm: restart api", "(restarting api…)", "restarted api", "(confirmed by console:alice", "restart api: cancelled by console:alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "never-read") {
		t.Fatal("read past quit")
	}
}

func TestShellEndsAtEOFAndSkipsBlankLines(t *testing.T) {
	out, _ := shell(t, "\n\n/ops help\n")
	if !strings.Contains(out, "opsbot commands") || !strings.Contains(out, "restart") {
		t.Fatalf("output:\n%s", out)
	}
}

func TestPosterThreadsAndUpdates(t *testing.T) {
	var out bytes.Buffer
	p := console.NewPoster(&out)
	ctx := context.Background()
	ref, _ := p.Post(ctx, "", chat.Message{Title: "cpu_high on host", Severity: chat.SevCritical, Text: "CPU 97 %", Fields: []chat.Field{{Name: "Target", Value: "host"}}, Buttons: []chat.Button{{ID: "ack", Label: "Acknowledge"}}})
	r2, _ := p.Reply(ctx, ref, chat.Message{Text: "restarted api\nhealthy after 2s"})
	p.Update(ctx, ref, chat.Message{Title: "cpu_high on host", Severity: chat.SevResolved, Text: "resolved after 4m"})
	want := "[#1] [CRITICAL] cpu_high on host\nCPU 97 %\n  Target: host\n[Acknowledge]\n" +
		"    ↳ [#2 in #1] restarted api\n      healthy after 2s\n" +
		"[#1 updated] [RESOLVED] cpu_high on host — resolved after 4m\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	// An update that changes only the tag is one line too.
	out.Reset()
	p.Update(ctx, ref, chat.Message{Title: "cpu_high on host", Severity: chat.SevOK, Text: "resolved after 4m"})
	if out.String() != "[#1 updated] [OK] cpu_high on host\n" {
		t.Fatalf("tag-only update: %q", out.String())
	}
	if r2.Thread != "1" || ref.ID != "1" {
		t.Fatalf("refs %+v %+v", ref, r2)
	}
}

// A reply with a severity but no title puts its tag on the text's first line.
func TestUntitledReplyLeadsWithItsTag(t *testing.T) {
	var out bytes.Buffer
	p := console.NewPoster(&out)
	p.Write(chat.Message{Severity: chat.SevWarning, Text: "unknown flag --bogus for status\nusage: status [target]"})
	p.Reply(context.Background(), chat.Ref{ID: "4"}, chat.Message{Severity: chat.SevCritical, Text: "Alert firing: disk full"})
	want := "[WARNING] unknown flag --bogus for status\nusage: status [target]\n" +
		"    ↳ [#1 in #4] [CRITICAL] Alert firing: disk full\n"
	if out.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// The shell ends when its context does (SIGTERM) even while it waits for a
// line from a pipe that stays open.
func TestShellEndsWithItsContextWhileReading(t *testing.T) {
	reg := commands.NewRegistry(config.Default, storetest.SQLite(t), nil)
	pr, pw := io.Pipe()
	defer pw.Close()
	var out bytes.Buffer
	sh := &console.Shell{Registry: reg, Poster: console.NewPoster(&out), In: pr, User: "alice"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	if _, err := pw.Write([]byte("/ops help\n")); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shell kept waiting for input after its context ended")
	}
}
