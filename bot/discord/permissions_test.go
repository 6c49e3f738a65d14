package discord_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"opsbot/bot/discord"
)

// docs/discord.md lists every permission the code uses, and its invite
// URL carries the integer computed from them.
func TestDocsListEveryPermission(t *testing.T) {
	b, err := os.ReadFile("../../docs/discord.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	n := discord.PermissionInteger()
	if n != 309237763072 {
		// View Channels, Send Messages, Embed Links, Attach Files, Read
		// Message History, Create Public Threads, Send Messages in Threads.
		t.Errorf("permission integer %d", n)
	}
	if !strings.Contains(doc, "permissions="+strconv.FormatInt(n, 10)) || !strings.Contains(doc, "`"+strconv.FormatInt(n, 10)+"`") {
		t.Errorf("docs/discord.md lacks the permission integer %d", n)
	}
	if !strings.Contains(doc, strings.Replace(discord.InviteURL("APPID"), "APPID", "<DISCORD_APP_ID>", 1)) {
		t.Errorf("docs/discord.md lacks the invite URL %s", discord.InviteURL("<DISCORD_APP_ID>"))
	}
	for _, p := range discord.Permissions {
		if !strings.Contains(doc, "| "+p.Name+" |") {
			t.Errorf("docs/discord.md does not list %s in its permission table", p.Name)
		}
	}
	for _, s := range discord.Scopes {
		if !strings.Contains(doc, "`"+s+"`") {
			t.Errorf("docs/discord.md does not name the scope %s", s)
		}
	}
}
