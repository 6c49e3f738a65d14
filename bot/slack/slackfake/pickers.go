package slackfake

import "regexp"

// conversationID is a Slack channel, group or DM id.
var conversationID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)

// checkPicker applies Slack's rules to a conversations_select or
// channels_select: an initial conversation must be an id (not a name), a
// channels_select takes initial_channel and no filter, and a filter's
// include names only im, mpim, private and public, at least one.
func checkPicker(kind, initialConversation, initialChannel string, filter *struct {
	Include []string `json:"include"`
}) string {
	switch kind {
	case "channels_select":
		if initialConversation != "" || filter != nil || (initialChannel != "" && !conversationID.MatchString(initialChannel)) {
			return "invalid_arguments"
		}
	case "conversations_select":
		if initialChannel != "" || (initialConversation != "" && !conversationID.MatchString(initialConversation)) {
			return "invalid_arguments"
		}
		if filter != nil {
			if len(filter.Include) == 0 {
				return "invalid_arguments"
			}
			for _, in := range filter.Include {
				switch in {
				case "im", "mpim", "private", "public":
				default:
					return "invalid_arguments"
				}
			}
		}
	}
	return ""
}
