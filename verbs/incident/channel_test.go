package incident_test

import (
	"context"
	"strings"
	"testing"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/store/storetest"
)

// --channel puts the incident's thread in a channel opsbot knows, written
// as the platform sends it; one it does not know, or a name, is refused
// with the channels to choose from, and nothing is opened.
func TestOpenInAChannel(t *testing.T) {
	b := setupWith(t, storetest.SQLite(t), func(c *config.Config) {
		c.Channels.Incident = "slack:C0INC"
		c.Channels.Allow = []string{"slack:C0OPS", "slack:C0WAR", "discord:610000000000000001"}
		c.Targets = []config.Target{{Name: "api"}, {Name: "worker"}}
	})
	ctx := context.Background()
	on := func(platform, user, channel, text string) commands.Response {
		return b.reg.Handle(ctx, commands.Request{Platform: platform, User: user, UserName: "me", Channel: channel, Text: text})
	}
	refused := []struct{ platform, user, text, want string }{
		{"slack", "U0ME", `incident open --channel C0SECRET "API down"`, "channel slack:C0SECRET is not one opsbot posts incidents to; choose one of: slack:C0INC, slack:C0OPS, slack:C0WAR"},
		{"slack", "U0ME", `incident open --channel "#war-room" "API down"`, `the channel must be a channel mention (#channel), its link or its id, got "#war-room"`},
		{"discord", "me", `incident open --channel <#610000000000000002> "API down"`, "choose one of: slack:C0INC, slack:C0OPS, slack:C0WAR, <#610000000000000001>"},
	}
	for _, c := range refused {
		here := "C0OPS"
		if c.platform == "discord" {
			here = "610000000000000001"
		}
		resp := on(c.platform, c.user, here, c.text)
		if resp.Severity != chat.SevWarning || !strings.Contains(resp.Text+resp.Title, c.want) {
			t.Errorf("%s: answered %+v, want %q", c.text, resp.Message, c.want)
		}
	}
	if list, err := b.st.ListIncidents(ctx, false, 10); err != nil || len(list) != 0 {
		t.Fatalf("a refused open left %d incidents (%v)", len(list), err)
	}

	opened := []struct{ platform, user, here, text, want string }{
		{"slack", "U0ME", "C0OPS", `incident open --channel <#C0WAR|war-room> "API down"`, "slack:C0WAR"},
		{"slack", "U0ME", "C0OPS", `incident open --channel C0OPS --target api "API slow"`, "slack:C0OPS"},
		{"slack", "U0ME", "C0OPS", `incident open --channel C0WAR --target api "API slower"`, ""}, // api has one open
		{"discord", "me", "610000000000000001", `incident open --channel 610000000000000001 "queue stuck"`, "discord:610000000000000001"},
		{"slack", "U0ME", "C0OPS", `incident open "disk"`, "slack:C0INC"},
	}
	id := int64(0)
	for _, c := range opened {
		resp := on(c.platform, c.user, c.here, c.text)
		if c.want == "" {
			if !strings.Contains(resp.Text+resp.Title, "already open") {
				t.Errorf("%s: %+v", c.text, resp.Message)
			}
			continue
		}
		id++
		if !strings.Contains(resp.Title, "Opened incident") {
			t.Fatalf("%s: %+v", c.text, resp.Message)
		}
		inc, err := b.st.Incident(ctx, id)
		if err != nil || inc.Channel != c.want {
			t.Errorf("%s: incident #%d in %q (%v), want %s", c.text, id, inc.Channel, err, c.want)
		}
	}
}
