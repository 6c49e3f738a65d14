package discord

import (
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Permission is one bot permission opsbot uses, and why.
type Permission struct {
	Name string
	Bit  int64
	Why  string
}

// Permissions is every permission the adapter needs in a channel: the one
// list the invite URL and docs/discord.md are made from (a test checks the
// docs).
var Permissions = []Permission{
	{"View Channels", discordgo.PermissionViewChannel, "see the channels it posts to"},
	{"Send Messages", discordgo.PermissionSendMessages, "answers and alerts"},
	{"Embed Links", discordgo.PermissionEmbedLinks, "alerts and answers are embeds"},
	{"Attach Files", discordgo.PermissionAttachFiles, "long output, charts and post-mortems as files"},
	{"Read Message History", discordgo.PermissionReadMessageHistory, "name incident threads after their first message; find an alert already posted after a restart"},
	{"Create Public Threads", discordgo.PermissionCreatePublicThreads, "one thread per incident"},
	{"Send Messages in Threads", discordgo.PermissionSendMessagesInThreads, "post an incident's stages, actions and notes"},
}

// Scopes are the OAuth2 scopes of the invite.
var Scopes = []string{"bot", "applications.commands"}

// PermissionInteger is the permissions field of the invite URL.
func PermissionInteger() int64 {
	var n int64
	for _, p := range Permissions {
		n |= p.Bit
	}
	return n
}

// InviteURL is the link that adds the bot to a server (appID is the
// application's id, digits).
func InviteURL(appID string) string {
	return "https://discord.com/oauth2/authorize?client_id=" + appID + "&scope=" + strings.Join(Scopes, "+") +
		"&permissions=" + strconv.FormatInt(PermissionInteger(), 10)
}
