package discordfake

import (
	"regexp"
	"slices"
)

var mentionRe = regexp.MustCompile(`@everyone|@here|<@!?(\d+)>|<@&(\d+)>`)

// Pings is who the message notifies, as Discord decides it: mentions in
// the content (embeds never ping), filtered by allowed_mentions; without
// allowed_mentions every mention in the content pings, @everyone included.
// Entries read "everyone", "user:<id>" or "role:<id>".
func (m Message) Pings() []string {
	am := m.allowed
	var out []string
	for _, g := range mentionRe.FindAllStringSubmatch(m.Content, -1) {
		switch {
		case g[0] == "@everyone" || g[0] == "@here":
			if am == nil || slices.Contains(am.Parse, "everyone") {
				out = append(out, "everyone")
			}
		case g[1] != "":
			if am == nil || slices.Contains(am.Parse, "users") || slices.Contains(am.Users, g[1]) {
				out = append(out, "user:"+g[1])
			}
		case g[2] != "":
			if am == nil || slices.Contains(am.Parse, "roles") || slices.Contains(am.Roles, g[2]) {
				out = append(out, "role:"+g[2])
			}
		}
	}
	return out
}
