package incidents_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/incident"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// The same way out on Discord: the first message goes to the incident
// channel, a thread is started from it and every later event lands in the
// thread, the first message is edited in place, and its channel and id are
// stored. A bot started afresh on the same store (nothing in memory) keeps
// threading under the same message.
func TestOneThreadThroughTheDiscordFake(t *testing.T) {
	const incChannel = "610000000000000001"
	st := storetest.SQLite(t)
	ctx := context.Background()
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	cfg := config.Default()
	cfg.Secrets.DiscordBotToken = config.Secret(fake.Token)
	cfg.Secrets.DiscordAppID = config.Secret(fake.AppID)
	cfg.Channels.Incident = "discord:" + incChannel
	cfg.Targets = []config.Target{{Name: "api"}}
	get := func() *config.Config { return cfg }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := newClock(t0)

	// boot is one bot process: adapter, notifier and service on the store.
	boot := func() (*notifier.Notifier, *incidents.Service) {
		adapter := discord.New(get, commands.NewRegistry(get, st, log), log, discord.WithHTTPClient(fake.Client()))
		router := chat.NewRouter()
		router.Set("discord", adapter.Poster())
		n := notifier.New(st, router, get, log)
		n.Now = clock.Now
		svc := incidents.New(st, n, get, log)
		svc.Clock = clock
		return n, svc
	}
	drain := func(n *notifier.Notifier) {
		t.Helper()
		if next, err := n.Drain(ctx); err != nil || !next.IsZero() {
			t.Fatalf("drain: next %v, %v", next, err)
		}
	}

	n, svc := boot()
	inc, err := svc.Open(ctx, "API not responding", "critical", "", "discord:800000000000000001 (alice)")
	if err != nil {
		t.Fatal(err)
	}
	drain(n)
	top := fake.Messages(incChannel)
	if len(top) != 1 || !strings.Contains(top[0].Text(), "Incident #1: API not responding") {
		t.Fatalf("incident channel %+v, want the first message", top)
	}
	root := top[0].ID
	if bs := discordfake.Buttons(top[0].Components); len(bs) != 1 || bs[0].CustomID != "form:incident-note:1" || bs[0].Label != "Add note" {
		t.Fatalf("buttons %+v, want Add note opening the note form", bs)
	}

	clock.Set(at(3 * time.Minute))
	if _, err := svc.SetLead(ctx, inc.ID, "<@800000000000000001>", "discord:800000000000000001 (alice)"); err != nil {
		t.Fatal(err)
	}
	clock.Set(at(4 * time.Minute))
	if _, err := svc.Stage(ctx, inc.ID, incident.Assessment, "discord:800000000000000001 (alice)"); err != nil {
		t.Fatal(err)
	}
	drain(n)

	th, ok := fake.Thread(root)
	if !ok || th.ParentID != incChannel || th.Name != "Incident #1: API not responding" {
		t.Fatalf("thread %+v (found %v), want one started from the first message", th, ok)
	}
	refs, err := store.RefsOfOwner(ctx, st.DB, incidents.Owner(inc.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 || refs[0].Platform != "discord" || refs[0].Address != "discord:"+incChannel || refs[0].Channel != incChannel || refs[0].MessageID != root {
		t.Fatalf("stored message refs %+v, want the first message's channel and id", refs)
	}

	// A restart: a new adapter (no thread cache), notifier and service.
	n, svc = boot()
	svc.RecordCommand(ctx, "api", "discord:800000000000000001 (alice)", "restart", "ok", "healthy after 4s", at(5*time.Minute))
	clock.Set(at(11 * time.Minute))
	if _, _, err := svc.PostMortem(ctx, inc.ID, "discord:800000000000000001 (alice)"); err != nil {
		t.Fatal(err)
	}
	drain(n)

	if top := fake.Messages(incChannel); len(top) != 1 {
		t.Fatalf("%d messages in the incident channel; later events belong in the thread", len(top))
	}
	var all []string
	var files []discordfake.File
	for _, m := range fake.Messages(root) {
		all = append(all, m.Text())
		files = append(files, m.Files...)
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"800000000000000001", "assessment", "restart api", "Post-mortem draft written"} {
		if !strings.Contains(text, want) {
			t.Errorf("thread lacks %q:\n%s", want, text)
		}
	}
	if len(files) != 1 || files[0].Name != "incident-1-postmortem.md" || !strings.HasPrefix(string(files[0].Data), "# Post-mortem: incident #1") {
		t.Errorf("post-mortem file in the thread: %+v", files)
	}
	head, _ := fake.Message(root)
	if head.Edits == 0 || !strings.Contains(head.Text(), "assessment") || !strings.Contains(head.Text(), "800000000000000001") {
		t.Fatalf("the first message does not show the current stage and lead (%d edits):\n%s", head.Edits, head.Text())
	}
}
