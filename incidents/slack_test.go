package incidents_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incident"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The whole way out: the service queues in the notifier's durable outbox,
// the delivery worker posts through the Slack adapter to the local Slack
// fake. One thread: every later event replies with the first message's
// ts, and the first message is edited in place.
func TestOneThreadThroughTheSlackFake(t *testing.T) {
	st := storetest.SQLite(t)
	ctx := context.Background()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg := config.Default()
	cfg.Slack.APIURL = fake.APIURL()
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	cfg.Channels.Incident = "slack:C0INC"
	cfg.Targets = []config.Target{{Name: "api"}}
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := newClock(t0)

	adapter := slack.New(get, commands.NewRegistry(get, st, log), log, slack.WithPace(time.Millisecond, 1000))
	router := chat.NewRouter()
	router.Set("slack", adapter.Poster())
	n := notifier.New(st, router, get, log)
	n.Now = clock.Now
	svc := incidents.New(st, n, get, log)
	svc.Clock = clock
	drain := func() {
		t.Helper()
		if next, err := n.Drain(ctx); err != nil || !next.IsZero() {
			t.Fatalf("drain: next %v, %v", next, err)
		}
	}

	inc, err := svc.Open(ctx, "API not responding", "critical", "", "slack:U0ME (me)")
	if err != nil {
		t.Fatal(err)
	}
	drain()
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].Channel != "C0INC" || msgs[0].ThreadTS != "" {
		t.Fatalf("first message %+v", msgs)
	}
	root := msgs[0].TS
	if b := string(msgs[0].Blocks) + string(msgs[0].Attachments); !strings.Contains(b, `"text":"Add note","emoji":true},"action_id":"form","value":"incident-note:1"`) {
		t.Fatalf("blocks %s, want Add note opening the note form", b)
	}

	clock.Set(at(3 * time.Minute))
	if _, err := svc.SetLead(ctx, inc.ID, "<@U0ALICE>", "slack:U0ME (me)"); err != nil {
		t.Fatal(err)
	}
	clock.Set(at(4 * time.Minute))
	if _, err := svc.Stage(ctx, inc.ID, incident.Assessment, "slack:U0ALICE (alice)"); err != nil {
		t.Fatal(err)
	}
	svc.RecordCommand(ctx, "api", "slack:U0ALICE (alice)", "restart", "ok", "healthy after 4s", at(4*time.Minute))
	_ = svc.Tick(ctx, at(10*time.Minute))
	clock.Set(at(11 * time.Minute))
	if _, _, err := svc.PostMortem(ctx, inc.ID, "slack:U0ALICE (alice)"); err != nil {
		t.Fatal(err)
	}
	drain()

	msgs = fake.Messages()
	var replies []string
	for _, m := range msgs[1:] {
		if m.ThreadTS != root || m.Channel != "C0INC" {
			t.Fatalf("a later event left the thread: %+v", m)
		}
		replies = append(replies, m.Text+string(m.Blocks)+string(m.Attachments))
	}
	all := strings.Join(replies, "\n")
	for _, want := range []string{"U0ALICE", "assessment", "restart api", "Reminder: incident #1 is past its assessment target", "Post-mortem draft written"} {
		if !strings.Contains(all, want) {
			t.Errorf("thread lacks %q:\n%s", want, all)
		}
	}
	if msgs[0].Edits == 0 {
		t.Fatal("the first message was never edited")
	}
	ups := fake.Updates()
	last := ups[len(ups)-1]
	if last.TS != root || !strings.Contains(string(last.Blocks)+string(last.Attachments), "assessment") || !strings.Contains(string(last.Blocks)+string(last.Attachments), "U0ALICE") {
		t.Fatalf("the first message does not show the current stage and lead: %s %s", last.Text, last.Blocks)
	}
	// Where the first message landed is stored, so a restarted bot (or
	// another replica) still edits it and threads under it.
	refs, err := store.RefsOfOwner(ctx, st.DB, incidents.Owner(inc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Platform != "slack" || refs[0].Address != "slack:C0INC" || refs[0].Channel != "C0INC" || refs[0].MessageID != root {
		t.Fatalf("stored message refs %+v, want the first message's channel and ts", refs)
	}
	files := fake.Files()
	if len(files) != 1 || files[0].ThreadTS != root || files[0].Name != "incident-1-postmortem.md" ||
		!strings.HasPrefix(string(files[0].Data), "# Post-mortem: incident #1") {
		t.Fatalf("post-mortem file %+v", files)
	}
}
