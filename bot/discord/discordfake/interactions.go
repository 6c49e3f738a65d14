package discordfake

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// callback takes an initial interaction response (Gateway mode).
func (s *Server) callback(w http.ResponseWriter, r *http.Request, id, token string) {
	p, files, err := readPayload(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[token]
	if !ok || in.ID != id {
		writeJSON(w, 404, map[string]any{"message": "Unknown interaction", "code": 10062})
		return
	}
	in.Callbacks++
	if in.Initial != 0 {
		writeJSON(w, 400, map[string]any{"message": "Interaction has already been acknowledged.", "code": 40060})
		return
	}
	s.initial(in, p, files)
	writeJSON(w, 204, nil)
}

// initial records an initial response (locked).
func (s *Server) initial(in *Interaction, p *payload, files []File) {
	in.Initial = p.Type
	in.Events = append(in.Events, fmt.Sprintf("callback %d", p.Type))
	switch p.Type {
	case 9:
		if p.Data != nil && p.Data.Components != nil {
			in.Modal = &Modal{CustomID: p.Data.CustomID, Title: p.Data.Title, Components: *p.Data.Components}
		}
	case 8:
		if p.Data != nil && p.Data.Choices != nil {
			in.Choices = *p.Data.Choices
		}
	case 4, 5:
		var body struct {
			ChannelID string `json:"channel_id"`
		}
		_ = json.Unmarshal(in.Body, &body)
		in.Original = &Message{ID: s.id(), ChannelID: body.ChannelID}
		if p.Data != nil {
			apply(in.Original, p.Data, files, false)
		}
		// The answer is a message in the channel: buttons on it can be clicked.
		s.messages[in.Original.ID] = in.Original
		s.order = append(s.order, in.Original.ID)
	case 7:
		m := s.clickedMessage(in)
		if p.Data != nil {
			apply(m, p.Data, files, true)
			m.Edits++
		}
		in.Original = m
	case 6:
		in.Original = s.clickedMessage(in)
	}
}

// clickedMessage is the message a component interaction came from (locked).
func (s *Server) clickedMessage(in *Interaction) *Message {
	var body struct {
		Message struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	_ = json.Unmarshal(in.Body, &body)
	if m, ok := s.messages[body.Message.ID]; ok {
		return m
	}
	return &Message{ID: body.Message.ID}
}

// webhook serves follow-ups and @original: refused (404 Unknown Webhook)
// until the initial response was sent, as on Discord.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request, seg []string) {
	app, token := seg[1], seg[2]
	s.mu.Lock()
	in, ok := s.interactions[token]
	if !ok || app != s.AppID {
		s.mu.Unlock()
		writeJSON(w, 404, map[string]any{"message": "Unknown Webhook", "code": 10015})
		return
	}
	if in.Initial == 0 && in.recorded != nil && (in.written || !in.watched) {
		// The answer is out (Discord has it) and Deliver is still reading
		// it: wait for it, however long a busy machine takes to schedule
		// the reader. From an endpoint the fake cannot watch the moment it
		// went out is unknown, so a request during the delivery waits too.
		rec := in.recorded
		s.mu.Unlock()
		if s.holding != nil {
			s.holding()
		}
		select {
		case <-rec:
		case <-r.Context().Done():
		}
		s.mu.Lock()
	}
	if in.Initial == 0 {
		in.EarlyEdits++
		in.Events = append(in.Events, "refused "+r.Method)
		s.mu.Unlock()
		writeJSON(w, 404, map[string]any{"message": "Unknown Webhook", "code": 10015})
		return
	}
	s.mu.Unlock()
	p, files, err := readPayload(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(seg) == 3 && r.Method == "POST":
		m := Message{ID: s.id()}
		apply(&m, p, files, false)
		in.Followups = append(in.Followups, m)
		in.Events = append(in.Events, "followup")
		writeJSON(w, 200, m)
	case len(seg) == 5 && seg[3] == "messages" && seg[4] == "@original" && r.Method == "PATCH":
		if in.Original == nil || in.Original.Deleted {
			writeJSON(w, 404, map[string]any{"message": "Unknown Message", "code": 10008})
			return
		}
		apply(in.Original, p, files, true)
		in.Original.Edits++
		in.Events = append(in.Events, "edit")
		writeJSON(w, 200, copyMsg(in.Original))
	case len(seg) == 5 && seg[3] == "messages" && seg[4] == "@original" && r.Method == "DELETE":
		if in.Original != nil {
			in.Original.Deleted = true
		}
		in.Events = append(in.Events, "delete")
		writeJSON(w, 204, nil)
	default:
		writeJSON(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
	}
}
