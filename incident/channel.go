package incident

import (
	"regexp"
	"strings"
)

var (
	slackChannelRef   = regexp.MustCompile(`^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$`)
	discordChannelRef = regexp.MustCompile(`^<#([0-9]{15,21})>$`)
	slackChannelID    = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	discordChannelID  = regexp.MustCompile(`^[0-9]{15,21}$`)
	// What the platforms' "Copy link" gives.
	discordChannelURL = regexp.MustCompile(`^https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/[0-9]{15,21}/([0-9]{15,21})/?$`)
	slackChannelURL   = regexp.MustCompile(`^https://[a-z0-9-]+\.slack\.com/archives/([CG][A-Z0-9]{2,})/?$`)
)

// ParseChannel reads the channel an incident's thread goes to as the
// platform the command came from gives it — a Slack <#C123|name> or id, a
// Discord <#123> or id, either's copied channel link — or as an address
// ("slack:C123", "console"), and
// returns the address. Names ("#incidents") are refused: only the platform
// knows which channel a name means, and it sends the id.
func ParseChannel(platform, s string) (string, error) {
	s = strings.TrimSpace(s)
	if m := slackChannelRef.FindStringSubmatch(s); m != nil && (platform == "slack" || !knownPlatform(platform)) {
		return "slack:" + m[1], nil
	}
	if m := discordChannelRef.FindStringSubmatch(s); m != nil && (platform == "discord" || !knownPlatform(platform)) {
		return "discord:" + m[1], nil
	}
	if m := slackChannelURL.FindStringSubmatch(s); m != nil {
		return "slack:" + m[1], nil
	}
	if m := discordChannelURL.FindStringSubmatch(s); m != nil {
		return "discord:" + m[1], nil
	}
	if p, id, ok := strings.Cut(s, ":"); ok {
		switch {
		case p == "slack" && slackChannelID.MatchString(id), p == "discord" && discordChannelID.MatchString(id):
			return s, nil
		}
	}
	switch {
	case s == "console":
		return s, nil
	case platform == "slack" && slackChannelID.MatchString(s):
		return "slack:" + s, nil
	case platform == "discord" && discordChannelID.MatchString(s):
		return "discord:" + s, nil
	}
	return "", Refusef(ErrBadInput, "the channel must be a channel mention (#channel), its link or its id, got %q", cut(s, 40))
}

// ChannelRef writes an address for a message: on Discord as the channel
// link <#123>, which shows the channel's name and pings nobody; elsewhere
// the address itself (Slack escapes what a command answers).
func ChannelRef(addr string) string {
	if id, ok := strings.CutPrefix(addr, "discord:"); ok && discordChannelID.MatchString(id) {
		return "<#" + id + ">"
	}
	return addr
}
