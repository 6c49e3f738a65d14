package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"
)

// View is a modal opened with views.open.
type View struct {
	TriggerID       string
	CallbackID      string
	PrivateMetadata string
	Title           string
	// Inputs are the input blocks: block id → the input's initial value.
	Inputs map[string]string
	Raw    json.RawMessage
}

type option struct {
	Text  *textObj `json:"text"`
	Value string   `json:"value"`
}

type viewJSON struct {
	Type   string   `json:"type"`
	Title  *textObj `json:"title"`
	Submit *textObj `json:"submit"`
	Blocks []struct {
		Type    string   `json:"type"`
		BlockID string   `json:"block_id"`
		Label   *textObj `json:"label"`
		Element *struct {
			Type          string   `json:"type"`
			ActionID      string   `json:"action_id"`
			InitialValue  string   `json:"initial_value"`
			MaxLength     int      `json:"max_length"`
			Options       []option `json:"options"`
			InitialOption *option  `json:"initial_option"`
			// Conversation and channel pickers.
			InitialConversation string `json:"initial_conversation"`
			InitialChannel      string `json:"initial_channel"`
			InitialUser         string `json:"initial_user"`
			Filter              *struct {
				Include []string `json:"include"`
			} `json:"filter"`
		} `json:"element"`
	} `json:"blocks"`
	CallbackID      string `json:"callback_id"`
	PrivateMetadata string `json:"private_metadata"`
}

// openView serves views.open (a JSON body) with the checks Slack makes.
func (s *Server) openView(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		slackErr(w, "invalid_arguments")
		return
	}
	var req struct {
		TriggerID string          `json:"trigger_id"`
		View      json.RawMessage `json:"view"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.View) == 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	if req.TriggerID == "" {
		slackErr(w, "invalid_trigger_id")
		return
	}
	var v viewJSON
	if json.Unmarshal(req.View, &v) != nil {
		slackErr(w, "invalid_arguments")
		return
	}
	if code := checkView(v); code != "" {
		slackErr(w, code)
		return
	}
	view := View{TriggerID: req.TriggerID, CallbackID: v.CallbackID, PrivateMetadata: v.PrivateMetadata, Title: v.Title.Text, Inputs: map[string]string{}, Raw: req.View}
	for _, b := range v.Blocks {
		if b.Type == "input" {
			view.Inputs[b.BlockID] = b.Element.InitialValue
			if o := b.Element.InitialOption; o != nil {
				view.Inputs[b.BlockID] = o.Value
			}
			if c := b.Element.InitialConversation + b.Element.InitialChannel; c != "" {
				view.Inputs[b.BlockID] = c
			}
		}
	}
	s.mu.Lock()
	s.views = append(s.views, view)
	s.bump()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "view": map[string]any{"id": "V0FAKE", "callback_id": v.CallbackID}})
}

func checkView(v viewJSON) string {
	plain := func(t *textObj, max int) bool {
		return t != nil && t.Type == "plain_text" && t.Text != "" && utf8.RuneCountInString(t.Text) <= max
	}
	if v.Type != "modal" || !plain(v.Title, 24) || len(v.Blocks) > 100 || len(v.CallbackID) > 255 || len(v.PrivateMetadata) > 3000 {
		return "invalid_arguments"
	}
	ids := map[string]bool{}
	inputs := 0
	for _, b := range v.Blocks {
		if b.BlockID != "" {
			if ids[b.BlockID] {
				return "duplicate_block_id"
			}
			ids[b.BlockID] = true
		}
		if b.Type != "input" {
			continue
		}
		inputs++
		e := b.Element
		if !plain(b.Label, 2000) || e == nil || e.ActionID == "" {
			return "invalid_arguments"
		}
		switch e.Type {
		case "plain_text_input":
			if e.MaxLength > 3000 || (e.MaxLength > 0 && utf8.RuneCountInString(e.InitialValue) > e.MaxLength) {
				return "invalid_arguments"
			}
		case "static_select":
			if len(e.Options) == 0 || len(e.Options) > 100 {
				return "invalid_arguments"
			}
			found := e.InitialOption == nil
			for _, o := range e.Options {
				if !plain(o.Text, 75) || o.Value == "" || len(o.Value) > 150 {
					return "invalid_arguments"
				}
				if e.InitialOption != nil && o.Value == e.InitialOption.Value {
					found = true
				}
			}
			if !found {
				// initial_option must be one of the options.
				return "invalid_arguments"
			}
		case "users_select":
			if e.InitialUser != "" && !userID.MatchString(e.InitialUser) {
				return "invalid_arguments"
			}
		case "conversations_select", "channels_select":
			if code := checkPicker(e.Type, e.InitialConversation, e.InitialChannel, e.Filter); code != "" {
				return code
			}
		default:
			return "invalid_arguments"
		}
	}
	if inputs > 0 && !plain(v.Submit, 24) {
		// A modal with inputs needs a submit button.
		return "invalid_arguments"
	}
	return ""
}

// Views returns the modals opened so far.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]View(nil), s.views...)
}
