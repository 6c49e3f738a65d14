package slack

import (
	"strings"

	"opsbot/chat"
)

var _ chat.Linker = (*Poster)(nil)

// Link returns the archive link of message ts in channel
// (https://<workspace>.slack.com/archives/<channel>/p<ts without dot>),
// or "" until auth.test has told the workspace's URL.
func (p *Poster) Link(channel, ts string) string {
	u := p.a.workspace.Load()
	if u == nil || !isID(channel) || ts == "" {
		return ""
	}
	return *u + "archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", "")
}

// setWorkspace keeps auth.test's workspace URL for links (https only).
func (a *Adapter) setWorkspace(url string) {
	if !strings.HasPrefix(url, "https://") {
		return
	}
	url = strings.TrimRight(url, "/") + "/"
	a.workspace.Store(&url)
}

// isID reports whether s is a Slack id (C0OPS), not a channel name.
func isID(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
