package slack

import (
	"context"
	"strings"

	"github.com/slack-go/slack"

	"opsbot/bot/forms"
	"opsbot/commands"
)

// Slack's limits on a modal.
const (
	maxViewTitle   = 24
	maxCallbackID  = 255
	maxInputLength = 3000
	formCallback   = forms.Button + ":"
	// msgFormOpened acknowledges a slash command that opened a form.
	msgFormOpened = "opening the form…"
)

// openForm opens a form's modal for a trigger (a click or a slash command,
// valid 3 s); channel is where the answer to the submission goes.
func (a *Adapter) openForm(ctx context.Context, triggerID, value, channel string) error {
	f, _, err := forms.Open(value)
	if err != nil {
		return err
	}
	if len(formCallback+value) > maxCallbackID {
		return commands.Errorf("the form's prefilled text is too long")
	}
	var blocks []slack.Block
	for _, in := range f.Inputs {
		label := slack.NewTextBlockObject(slack.PlainTextType, clip(in.Label, 2000), false, false)
		if in.List == forms.ListChannels {
			blocks = append(blocks, a.channelInput(in, label))
			continue
		}
		if in.List == forms.ListUsers {
			blocks = append(blocks, userInput(in, label))
			continue
		}
		if opts := a.formOptions(ctx, in); len(opts) > 0 {
			// A list to pick from: a static select, the prefilled answer
			// chosen.
			var objs []*slack.OptionBlockObject
			var initial *slack.OptionBlockObject
			for _, o := range opts {
				obj := slack.NewOptionBlockObject(o.Value, slack.NewTextBlockObject(slack.PlainTextType, clip(o.Label, 75), false, false), nil)
				objs = append(objs, obj)
				if o.Value == in.Value {
					initial = obj
				}
			}
			sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, in.ID, objs...)
			sel.InitialOption = initial
			blocks = append(blocks, slack.NewInputBlock(in.ID, label, nil, sel).WithOptional(in.Optional))
			continue
		}
		el := slack.NewPlainTextInputBlockElement(nil, in.ID)
		if in.Placeholder != "" {
			el.Placeholder = slack.NewTextBlockObject(slack.PlainTextType, clip(in.Placeholder, 150), false, false)
		}
		el.InitialValue, el.Multiline = in.Value, in.Long
		el.MaxLength = maxInputLength
		if in.Max > 0 && in.Max < maxInputLength {
			el.MaxLength = in.Max
		}
		blocks = append(blocks, slack.NewInputBlock(in.ID, label, nil, el).WithOptional(in.Optional))
	}
	view := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, clip(f.Title, maxViewTitle), false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Submit", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks:          slack.Blocks{BlockSet: blocks},
		CallbackID:      formCallback + value,
		PrivateMetadata: channel,
	}
	if _, err := a.api().OpenViewContext(ctx, triggerID, view); err != nil {
		return a.classify("slack views.open", err)
	}
	return nil
}

// submitForm handles a view_submission and returns the acknowledgement's
// body (nil: none, the form closes): a required answer left empty is shown
// on the form, which Slack keeps open; else the form's command runs as if
// typed, the answer going to the channel the form came from.
func (a *Adapter) submitForm(ic slack.InteractionCallback) any {
	value, ok := strings.CutPrefix(ic.View.CallbackID, formCallback)
	if !ok {
		return nil
	}
	answers := map[string]string{}
	for block, actions := range ic.View.State.Values {
		if act, ok := actions[block]; ok {
			answers[block] = act.Value
			if act.SelectedOption.Value != "" {
				answers[block] = act.SelectedOption.Value
			}
			if act.SelectedConversation != "" {
				answers[block] = act.SelectedConversation
			}
			if act.SelectedUser != "" {
				// Handed on as the mention a typed command carries.
				answers[block] = "<@" + act.SelectedUser + ">"
			}
		}
	}
	words, err := forms.Words(value, answers)
	if err != nil {
		f, _, _ := forms.Open(value)
		field := ""
		for _, in := range f.Inputs {
			if strings.TrimSpace(answers[in.ID]) == "" && !in.Optional {
				field = in.ID
				break
			}
		}
		if field == "" && len(f.Inputs) > 0 {
			field = f.Inputs[0].ID
		}
		return map[string]any{"response_action": "errors", "errors": map[string]string{field: err.Error()}}
	}
	channel := ic.View.PrivateMetadata
	if field, msg := a.checkFormChannel(answers, channel); field != "" {
		// An unknown channel is shown on the form, which stays open.
		return map[string]any{"response_action": "errors", "errors": map[string]string{field: msg}}
	}
	name := firstNonEmpty(ic.User.Name, ic.User.Username)
	req := commands.Request{Platform: "slack", User: ic.User.ID, UserName: name, Channel: channel, Args: words, Text: strings.Join(words, " ")}
	t := a.newTarget("", channel, ic.User.ID)
	a.background(func(ctx context.Context) { t.answer(ctx, a.reg.Handle(ctx, req), false) })
	return nil
}

// maxSelectOptions is the most options a Slack static select takes.
const maxSelectOptions = 100

// WithFormList sets the source of a list the forms pick from
// (forms.ListIncidents); an error or an empty list leaves a text input.
func WithFormList(list string, src func(ctx context.Context) ([]forms.Choice, error)) Option {
	return func(a *Adapter) {
		if a.lists == nil {
			a.lists = map[string]func(context.Context) ([]forms.Choice, error){}
		}
		a.lists[list] = src
	}
}

// formOptions are the answers to pick from for an input: its own, or a
// list from the configuration or a source.
func (a *Adapter) formOptions(ctx context.Context, in forms.Input) []forms.Choice {
	var opts []forms.Choice
	for _, o := range in.Options {
		opts = append(opts, forms.Choice{Value: o, Label: o})
	}
	switch src := a.lists[in.List]; {
	case in.List == forms.ListTargets:
		for _, t := range a.cfg().Targets {
			opts = append(opts, forms.Choice{Value: t.Name, Label: t.Name})
		}
	case src != nil:
		list, err := src(ctx)
		if err != nil {
			a.log.Warn("slack form list", "list", in.List, "err", err)
		}
		opts = append(opts, list...)
	}
	if len(opts) > maxSelectOptions {
		opts = opts[:maxSelectOptions]
	}
	return opts
}

// formFor is the form a command typed without its arguments stands for.
func formFor(text string) (string, bool) {
	words, err := commands.Split(text)
	if err != nil {
		return "", false
	}
	return forms.ForCommand(words)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
