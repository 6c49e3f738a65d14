package slack

import (
	"fmt"
	"testing"
	"time"

	"opsbot/chat"
)

// Recovery reads the outbox row's window of history, page by page, not
// the last 200 messages: a row posted before 450 others is found, and a
// window that leaves it out does not find it.
func TestFindByKeyReadsTheWindowByPages(t *testing.T) {
	e := newEnv(t, nil, WithPace(0, 1))
	e.fake.SetClock(e.clock.Now)
	ctx := ctxT(t)
	p := e.a.Poster()
	start := e.clock.Now()
	ref, err := p.Post(ctx, "C0BUSY", chat.Message{Text: "disk full", Key: "7"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	for i := range 450 {
		if _, err := p.Post(ctx, "C0BUSY", chat.Message{Text: fmt.Sprintf("alert %d", i), Key: fmt.Sprint(100 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := e.fake.Calls("conversations.history")
	found, ok, err := p.FindByKeyBetween(ctx, "C0BUSY", "7", start.Add(-time.Minute), e.clock.Now().Add(time.Minute))
	if err != nil || !ok || found.ID != ref.ID {
		t.Fatalf("found %+v %v %v, want %s", found, ok, err, ref.ID)
	}
	if pages := e.fake.Calls("conversations.history") - before; pages != 3 {
		t.Errorf("%d pages read, want 3 (451 messages, 200 a page)", pages)
	}
	before = e.fake.Calls("conversations.history")
	if _, ok, err := p.FindByKeyBetween(ctx, "C0BUSY", "7", start.Add(30*time.Minute), e.clock.Now()); ok || err != nil {
		t.Errorf("outside the window: found %v, %v", ok, err)
	}
	// Through the router, as the delivery worker asks.
	r := chat.NewRouter()
	r.Set("slack", p)
	found, ok, err = r.FindByKeyBetween(ctx, "slack:C0BUSY", "7", start, e.clock.Now())
	if err != nil || !ok || found.ID != ref.ID || found.Platform != "slack" {
		t.Fatalf("router: %+v %v %v", found, ok, err)
	}
}
