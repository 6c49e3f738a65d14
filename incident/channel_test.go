package incident

import "testing"

func TestParseChannel(t *testing.T) {
	ok := []struct{ platform, in, want string }{
		{"slack", "<#C0WAR|war-room>", "slack:C0WAR"},
		{"slack", "<#C0WAR>", "slack:C0WAR"},
		{"slack", " C0WAR ", "slack:C0WAR"},
		{"slack", "https://acme.slack.com/archives/C0WAR", "slack:C0WAR"},
		{"slack", "slack:G0PRIV", "slack:G0PRIV"},
		{"discord", "<#610000000000000002>", "discord:610000000000000002"},
		{"discord", "610000000000000002", "discord:610000000000000002"},
		{"discord", "https://discord.com/channels/300000000000000001/610000000000000002", "discord:610000000000000002"},
		{"console", "console", "console"},
		{"discord", "slack:C0WAR", "slack:C0WAR"},
	}
	for _, c := range ok {
		if got, err := ParseChannel(c.platform, c.in); err != nil || got != c.want {
			t.Errorf("%s %q: %q %v, want %q", c.platform, c.in, got, err, c.want)
		}
	}
	bad := []struct{ platform, in string }{
		{"slack", "#war-room"}, {"slack", "610000000000000002"}, {"discord", "C0WAR"}, {"discord", "<#C0WAR>"},
		{"slack", "D0ALICE"}, {"discord", "https://evil.example/channels/1/610000000000000002"}, {"slack", "slack:#x"}, {"slack", ""},
	}
	for _, c := range bad {
		if got, err := ParseChannel(c.platform, c.in); err == nil {
			t.Errorf("%s %q: accepted as %q", c.platform, c.in, got)
		}
	}
	if ChannelRef("discord:610000000000000002") != "<#610000000000000002>" || ChannelRef("slack:C0WAR") != "slack:C0WAR" {
		t.Error("ChannelRef")
	}
}
