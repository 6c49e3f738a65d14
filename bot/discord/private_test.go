package discord_test

import (
	"context"
	"strings"
	"testing"

	"opsbot/bot/discord/discordfake"
	"opsbot/commands"
	"opsbot/policy"
)

// peek is a slow verb whose reply quotes logs: private unless --public.
func peek(release chan struct{}) *commands.Verb {
	return &commands.Verb{Name: "peek", Summary: "quotes a log line", Access: policy.Read, Slow: true, Private: true,
		Flags: []commands.Flag{{Name: "public", Bool: true, Help: "show it to the channel"}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			c.Progress("reading the log")
			<-release
			return commands.Text("ERROR login failed password=hunter2 user=7"), nil
		}}
}

// A reply that quotes logs is deferred privately, its progress and its
// answer edit the private placeholder, and --public makes all of it public.
func TestPrivateReplyIsDeferredPrivately(t *testing.T) {
	e := newEnv(t, "http")
	release := make(chan struct{})
	e.reg.MustRegister(peek(release))
	close(release)

	in := e.fake.NewCommand(alice, channel, discordfake.Sub("peek"))
	_, body := e.deliver(in)
	data, _ := body["data"].(map[string]any)
	if body["type"] != float64(5) || data == nil || data["flags"] != float64(64) {
		t.Fatalf("answered %v, want a private deferral (type 5, flags 64)", body)
	}
	eventually(t, "the answer in the placeholder", func() bool {
		o := e.interaction(in.Token).Original
		return o != nil && contains(o.Text(), "login failed")
	})
	got := e.interaction(in.Token)
	if got.Original.Flags != 64 || hasEvent(got, "delete") || hasEvent(got, "followup") {
		t.Fatalf("events %v, original flags %d: the answer must edit the private placeholder", got.Events, got.Original.Flags)
	}
	if txt := got.Original.Text(); strings.Contains(txt, "hunter2") || !strings.Contains(txt, "password=[REDACTED]") {
		t.Fatalf("answer %q", txt)
	}

	in = e.fake.NewCommand(alice, channel, discordfake.Sub("peek", discordfake.Bool("public", true)))
	_, body = e.deliver(in)
	if data, _ := body["data"].(map[string]any); body["type"] != float64(5) || (data != nil && data["flags"] != nil) {
		t.Fatalf("answered %v, want a public deferral", body)
	}
	eventually(t, "the public answer", func() bool {
		o := e.interaction(in.Token).Original
		return o != nil && contains(o.Text(), "login failed")
	})
	if o := e.interaction(in.Token).Original; o.Flags != 0 {
		t.Fatalf("--public answer has flags %d", o.Flags)
	}
}
