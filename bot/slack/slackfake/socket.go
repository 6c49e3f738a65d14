package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// response serves response_url posts: JSON, no auth, at most five uses.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(r.Body)
	if err != nil || !json.Valid(body) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	var msg struct {
		Text        string          `json:"text"`
		Blocks      json.RawMessage `json:"blocks"`
		Attachments json.RawMessage `json:"attachments"`
	}
	_ = json.Unmarshal(body, &msg)
	if code := checkMessage(msg.Text, rawString(msg.Blocks), rawString(msg.Attachments)); code != "" {
		// response_url answers a refusal with a 400 and the error code.
		http.Error(w, code, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uses[id] >= 5 {
		http.Error(w, "used_url", http.StatusNotFound)
		return
	}
	s.uses[id]++
	var del struct {
		Delete bool `json:"delete_original"`
	}
	_ = json.Unmarshal(body, &del)
	if del.Delete {
		// Deleting the original posts nothing.
		s.deletes[id]++
		s.bump()
		_, _ = io.WriteString(w, "ok")
		return
	}
	s.responses[id] = append(s.responses[id], body)
	s.bump()
	_, _ = io.WriteString(w, "ok")
}

// socket is the Socket Mode websocket: hello, then envelopes from Send*,
// acks read back, pings every PingEvery.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws}
	if err := c.write(map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": "A0FAKE"}}); err != nil {
		_ = ws.Close()
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.bump()
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(s.PingEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				c.mu.Lock()
				err := ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				c.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	defer func() {
		close(done)
		_ = ws.Close()
		s.mu.Lock()
		for i, x := range s.conns {
			if x == c {
				s.conns = append(s.conns[:i], s.conns[i+1:]...)
				break
			}
		}
		s.bump()
		s.mu.Unlock()
	}()
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := ws.ReadJSON(&ack); err != nil {
			return
		}
		s.mu.Lock()
		if ack.Payload == nil {
			ack.Payload = json.RawMessage("null")
		}
		s.acks[ack.EnvelopeID] = ack.Payload
		s.bump()
		s.mu.Unlock()
	}
}

// Connected is how many Socket Mode clients are connected.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// send writes an envelope to the newest connection.
func (s *Server) send(typ string, payload any) (string, error) {
	s.mu.Lock()
	if len(s.conns) == 0 {
		s.mu.Unlock()
		return "", fmt.Errorf("slackfake: no socket mode client connected")
	}
	c := s.conns[len(s.conns)-1]
	s.envelopeNo++
	id := fmt.Sprintf("env-%d", s.envelopeNo)
	s.mu.Unlock()
	env := map[string]any{"envelope_id": id, "type": typ, "payload": payload, "accepts_response_payload": typ == "slash_commands"}
	if err := c.write(env); err != nil {
		return "", fmt.Errorf("slackfake: send envelope: %w", err)
	}
	return id, nil
}

// SendSlash delivers a slash command over Socket Mode; fields are Slack's
// form names (command, text, user_id, channel_id, response_url, …).
func (s *Server) SendSlash(fields url.Values) (string, error) {
	p := map[string]string{}
	for k := range fields {
		p[k] = fields.Get(k)
	}
	return s.send("slash_commands", p)
}

// SendInteraction delivers an interactivity payload over Socket Mode.
func (s *Server) SendInteraction(payload json.RawMessage) (string, error) {
	return s.send("interactive", payload)
}

// Ack waits for the client's ack of envelope id and returns its payload
// ("null" when it carried none).
func (s *Server) Ack(ctx context.Context, id string) (json.RawMessage, error) {
	var out json.RawMessage
	err := s.Await(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		p, ok := s.acks[id]
		out = p
		return ok
	})
	return out, err
}

func rawString(r json.RawMessage) string {
	if len(r) == 0 || string(r) == "null" {
		return ""
	}
	return string(r)
}
