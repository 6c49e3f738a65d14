package slack

import (
	"regexp"
	"strings"
)

// slackToken is one of Slack's <…> sequences in message text.
var slackToken = regexp.MustCompile(`<([^<>]*)>`)

var (
	entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	// Typographic double quotes (typed by some keyboards and operating
	// systems) group words like straight ones. Single ones are left: they
	// are apostrophes more often than quotes.
	curlyQuotes = strings.NewReplacer("\u201c", `"`, "\u201d", `"`)
)

// commandText turns a slash command's text as Slack sends it back into what
// the user typed. Slack escapes &, < and > as entities; with escaping on
// (should_escape in the manifests) it also sends users as <@U123|name>,
// channels as <#C123|name> and links as <https://…|as typed>. User
// mentions are kept, since `incident lead` needs the id; channels, special
// mentions and links become the text the user saw.
func commandText(s string) string {
	s = slackToken.ReplaceAllStringFunc(s, func(tok string) string {
		inner := tok[1 : len(tok)-1]
		ref, label, hasLabel := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(ref, "@"):
			return tok
		case strings.HasPrefix(ref, "#"):
			if hasLabel && label != "" {
				return "#" + label
			}
			return ref
		case strings.HasPrefix(ref, "!"):
			if hasLabel && label != "" {
				return label
			}
			return "@" + strings.TrimPrefix(ref, "!")
		case hasLabel && label != "":
			return label
		}
		return ref
	})
	return curlyQuotes.Replace(entities.Replace(s))
}
