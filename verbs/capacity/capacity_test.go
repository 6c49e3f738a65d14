package capacity_test

import (
	"context"
	"strings"
	"testing"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/store/storetest"
	"opsbot/verbs/capacity"
)

func run(t *testing.T, text string) commands.Response {
	cfg := config.Default()
	reg := commands.NewRegistry(func() *config.Config { return cfg }, storetest.SQLite(t), nil)
	reg.MustRegister(capacity.Verbs()...)
	return reg.Handle(context.Background(), commands.Request{Platform: "slack", User: "U1", Channel: "C1", Text: text})
}

func TestCapacity(t *testing.T) {
	a := run(t, "capacity 10000 10% 12")
	b := run(t, "capacity 10000 0.1 12")
	if a.Code != b.Code || !strings.Contains(a.Code, "31,384") || a.Title != "Capacity: 10000 users growing 10% a month, 12 months ahead" {
		t.Fatalf("reply %+v", a.Message)
	}
	if !strings.Contains(a.Text, "31384 users, 31 cores, 62 GB memory, 3139 GB storage") {
		t.Fatalf("text %q", a.Text)
	}
}

func TestCapacityBadNumbers(t *testing.T) {
	for text, want := range map[string]string{
		"capacity many 10% 12":   `users must be a whole number of users (e.g. 5000), got "many"`,
		"capacity 5000 ten 12":   `growth must be a monthly rate such as 0.1 or 10%, got "ten"`,
		"capacity 5000 10 12":    "growth 10 would be 1000% a month; write 10% or 0.1 for 10%",
		"capacity 5000 10% 1e3":  `months must be a whole number from 0 to 120, got "1e3"`,
		"capacity 5000 10%":      "capacity needs <months>",
		"capacity 5000 10% 12 9": "too many arguments",
	} {
		r := run(t, text)
		if !strings.Contains(r.Text, want) || r.Severity != chat.SevWarning || r.Code != "" {
			t.Errorf("%s: %q, want %q", text, r.Text, want)
		}
	}
}
