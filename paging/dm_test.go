package paging_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"opsbot/bot/discord"
	"opsbot/bot/discord/discordfake"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/paging"
	"opsbot/store"
	"opsbot/store/storetest"
)

// Step 1 mentions the primary in the thread and sends them a direct message
// (Slack conversations.open, then chat.postMessage in the DM) with an
// Acknowledge button; clicking it acknowledges the alert and the
// escalation stops before any page.
func TestDirectMessageWithAcknowledge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.cfg.Paging.Policies[0].Steps[0].Via = []string{"channel", "dm"}
		r.fire(t, "api/down", "critical")
		r.pass(t)
		if r.fake.Calls("conversations.open:U0ALICE") != 1 || r.fake.DMUser("D0ALICE") != "U0ALICE" {
			t.Fatalf("conversations.open for alice: %d", r.fake.Calls("conversations.open:U0ALICE"))
		}
		id := r.alertID(t, "api/down")
		var dm []byte
		for _, m := range r.fake.Messages() {
			if m.Channel == "D0ALICE" {
				if dm != nil {
					t.Fatal("two DMs for one step")
				}
				dm = append(append([]byte{}, m.Blocks...), m.Attachments...)
			}
		}
		if dm == nil || !bytes.Contains(dm, []byte(`"action_id":"ack"`)) || !bytes.Contains(dm, []byte(`"value":"`+strconv.FormatInt(id, 10)+`"`)) ||
			!bytes.Contains(dm, []byte("You are on call: alice (primary).")) {
			t.Fatalf("DM blocks: %s", dm)
		}
		if count(r.thread(t), "Escalation step 1 of 4 (critical): paging alice (primary) via direct message.") != 1 {
			t.Fatalf("thread: %q", r.thread(t))
		}
		// The click, as the Slack adapter hands it to the notifier.
		r.at(2 * time.Minute)
		if _, err := r.n.AckButton(ctx, "slack:D0ALICE", strconv.FormatInt(id, 10), "slack:U0ALICE (alice)"); err != nil {
			t.Fatal(err)
		}
		r.pass(t)
		r.at(6 * time.Minute)
		r.pass(t)
		if len(r.pd.events()) != 0 || len(r.hook.bodies()) != 0 {
			t.Fatalf("paged after the DM's ack: %v", r.pd.actions())
		}
		if count(r.thread(t), "Escalation stopped: acknowledged by slack:U0ALICE (alice) after 1 of 4 steps.") != 1 {
			t.Fatalf("thread: %q", r.thread(t))
		}
	})
}

// The same on Discord: a DM channel opened with POST /users/@me/channels,
// the page posted there with an Acknowledge button.
func TestDirectMessageOnDiscord(t *testing.T) {
	st := storetest.SQLite(t)
	r := newRig(t, st)
	fake := discordfake.New()
	t.Cleanup(fake.Close)
	r.cfg.Secrets.DiscordBotToken = config.Secret(fake.Token)
	r.cfg.Secrets.DiscordAppID = config.Secret(fake.AppID)
	get := func() *config.Config { return r.cfg }
	adapter := discord.New(get, commands.NewRegistry(get, st, r.log), r.log, discord.WithHTTPClient(fake.Client()))
	dp, ok := adapter.Poster().(paging.DMOpener)
	if !ok {
		t.Fatal("the Discord poster cannot open DMs")
	}
	r.router.Set("discord", dp)
	r.dms.Set("discord", dp)
	alice := r.cfg.Paging.People["alice"]
	alice.Discord = "310000000000000001"
	r.cfg.Paging.People["alice"] = alice
	r.cfg.Paging.Policies[0].Steps[0].Via = []string{"dm"}
	r.fire(t, "api/down", "critical")
	r.pass(t)
	const dm = "910000000000000001"
	if fake.DMUser(dm) != "310000000000000001" {
		t.Fatalf("no DM channel opened for alice")
	}
	msgs := fake.Messages(dm)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in alice's DM", len(msgs))
	}
	id := strconv.FormatInt(r.alertID(t, "api/down"), 10)
	found := false
	for _, b := range discordfake.Buttons(msgs[0].Components) {
		if b.Label == "Acknowledge" && strings.HasSuffix(b.CustomID, id) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no Acknowledge button for alert %s: %+v", id, msgs[0].Components)
	}
	// Slack got its DM too: alice is on both.
	if r.fake.DMUser("D0ALICE") != "U0ALICE" {
		t.Fatal("no Slack DM")
	}
}
