package slack

import (
	"slices"
	"strings"

	"github.com/slack-go/slack"

	"opsbot/bot/forms"
	"opsbot/incident"
)

// channelInput is a form's channel field: Slack's own conversation picker
// of public and private channels, starting on the configured incident
// channel when it is a Slack one.
func (a *Adapter) channelInput(in forms.Input, label *slack.TextBlockObject) *slack.InputBlock {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, nil, in.ID)
	sel.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	if id, ok := strings.CutPrefix(a.cfg().Channels.Incident, "slack:"); ok {
		sel.InitialConversation = id
	}
	if in.Placeholder != "" {
		sel.Placeholder = slack.NewTextBlockObject(slack.PlainTextType, clip(in.Placeholder, 150), false, false)
	}
	return slack.NewInputBlock(in.ID, label, nil, sel).WithOptional(in.Optional)
}

// userInput is a form's person field: Slack's member picker.
func userInput(in forms.Input, label *slack.TextBlockObject) *slack.InputBlock {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, nil, in.ID)
	return slack.NewInputBlock(in.ID, label, nil, sel).WithOptional(in.Optional)
}

// checkFormChannel refuses, on the form itself, a channel picked for an
// incident's thread that opsbot does not post incidents to, naming the
// ones it does; the command checks it again when it runs. It returns the
// field and the message, or "" when the answer is fine.
func (a *Adapter) checkFormChannel(answers map[string]string, here string) (string, string) {
	v := strings.TrimSpace(answers["channel"])
	if v == "" {
		return "", ""
	}
	addr, err := incident.ParseChannel("slack", v)
	if err != nil {
		return "channel", err.Error()
	}
	known := a.cfg().IncidentChannels("slack:" + here)
	if slices.Contains(known, addr) {
		return "", ""
	}
	var names []string
	for _, k := range known {
		if id, ok := strings.CutPrefix(k, "slack:"); ok {
			// Plain text: a form's error message shows no channel links.
			names = append(names, id)
		}
	}
	if len(names) == 0 {
		return "channel", "opsbot posts incidents to no Slack channel; leave this empty"
	}
	return "channel", "opsbot does not post incidents there; pick one of " + strings.Join(names, ", ")
}
