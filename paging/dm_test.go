package paging_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

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
