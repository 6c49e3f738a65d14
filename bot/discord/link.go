package discord

import "opsbot/chat"

var _ chat.Linker = (*Poster)(nil)

// Link returns https://discord.com/channels/<guild>/<channel>/<message>
// when the guild is known (discord.guild_id), else "".
func (p *Poster) Link(channel, id string) string {
	g := p.a.cfg().Discord.GuildID
	if !snowflake(g) || !snowflake(channel) || !snowflake(id) {
		return ""
	}
	return "https://discord.com/channels/" + g + "/" + channel + "/" + id
}

// snowflake reports whether s is a Discord id (digits only).
func snowflake(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
