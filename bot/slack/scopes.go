package slack

// Scope is one bot token scope opsbot uses, and why.
type Scope struct{ Name, Why string }

// Scopes is every bot scope the adapter's Web API calls need: the one list
// the manifests in deploy/slack and docs/slack.md must match (a test checks
// both).
var Scopes = []Scope{
	{"commands", "the /ops slash command"},
	{"chat:write", "answers, alerts, incident threads, message updates"},
	{"chat:write.public", "post alerts to public channels without joining them first"},
	{"files:write", "long output, charts and post-mortems as files (files.getUploadURLExternal, files.completeUploadExternal)"},
	{"channels:history", "find an alert already posted (outbox key in message metadata) after a restart"},
	{"groups:history", "the same in private channels the bot was invited to"},
	{"im:write", "open a direct message with a user: pages, and the files of answers only they see"},
}

// AppScopes are the app-level token's scopes (Socket Mode).
var AppScopes = []Scope{{"connections:write", "open the Socket Mode connection"}}
