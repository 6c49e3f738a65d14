package discord

import (
	"strings"

	"github.com/bwmarrin/discordgo"

	"opsbot/bot/forms"
)

// Discord's limits on a modal.
const (
	maxModalTitle = 45
	maxInputLabel = 45
	maxInputValue = 4000
	formPrefix    = forms.Button + ":"
)

// openForm answers a click on a form button with the modal.
func (a *Adapter) openForm(value string) *discordgo.InteractionResponse {
	f, _, err := forms.Open(value)
	if err != nil {
		return ephemeral(err.Error())
	}
	var rows []discordgo.MessageComponent
	for _, in := range f.Inputs {
		style := discordgo.TextInputShort
		if in.Long {
			style = discordgo.TextInputParagraph
		}
		max := in.Max
		if max <= 0 || max > maxInputValue {
			max = maxInputValue
		}
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
			CustomID: in.ID, Label: cut(in.Label, maxInputLabel), Style: style, Placeholder: cut(in.Placeholder, 100),
			Value: cut(in.Value, max), Required: !in.Optional, MaxLength: max,
		}}})
	}
	id := formPrefix + value
	if len(id) > maxCustomID {
		return ephemeral("the form's prefilled text is too long")
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: &discordgo.InteractionResponseData{
		CustomID: id, Title: cut(f.Title, maxModalTitle), Components: rows,
	}}
}

// onModal runs a submitted form as the command it stands for: the
// registry decides, audits and answers as for /ops typed by hand.
func (a *Adapter) onModal(in *discordgo.Interaction) (*discordgo.InteractionResponse, func(bool)) {
	req, ok := baseRequest(in)
	if !ok {
		return ephemeral("cannot tell who sent this form"), nil
	}
	data := in.ModalSubmitData()
	value, ok := strings.CutPrefix(data.CustomID, formPrefix)
	if !ok {
		return ephemeral("this form is not opsbot's"), nil
	}
	answers := map[string]string{}
	for _, row := range data.Components {
		r, ok := row.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, c := range r.Components {
			if ti, ok := c.(*discordgo.TextInput); ok {
				answers[ti.CustomID] = ti.Value
			}
		}
	}
	words, err := forms.Words(value, answers)
	if err != nil {
		return ephemeral(err.Error()), nil
	}
	return a.runWords(in, req, words)
}
