package discordfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
)

// ---- Gateway ----

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

type gwPayload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d,omitempty"`
	S  *int            `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	if v := r.URL.Query().Get("v"); v != APIVersion {
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4012, "Invalid API version."))
		return
	}
	gc := &gwConn{}
	send := func(p any) error {
		gc.mu.Lock()
		defer gc.mu.Unlock()
		return c.WriteJSON(p)
	}
	if send(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": 41250}}) != nil {
		return
	}
	var ident gwPayload
	for {
		if err := c.ReadJSON(&ident); err != nil {
			return
		}
		if ident.Op == 1 {
			_ = send(map[string]any{"op": 11})
			continue
		}
		break
	}
	if ident.Op != 2 {
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4003, "Not authenticated."))
		return
	}
	select {
	case s.identify <- ident.D:
	default:
	}
	var id struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(ident.D, &id)
	if id.Token != "Bot "+s.Token {
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
		return
	}
	gc.mu.Lock()
	gc.seq = 1
	gc.mu.Unlock()
	if send(map[string]any{"op": 0, "s": 1, "t": "READY", "d": map[string]any{
		"v": 10, "session_id": "fake-session", "resume_gateway_url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gw",
		"user":        map[string]any{"id": "500000000000000001", "username": "opsbot", "bot": true},
		"guilds":      []any{},
		"application": map[string]any{"id": s.AppID, "flags": 0},
	}}) != nil {
		return
	}
	s.gwMu.Lock()
	s.conns[c] = gc
	s.gwMu.Unlock()
	defer func() {
		s.gwMu.Lock()
		delete(s.conns, c)
		s.gwMu.Unlock()
	}()
	select {
	case s.ready <- struct{}{}:
	default:
	}
	for {
		var p gwPayload
		if err := c.ReadJSON(&p); err != nil {
			return
		}
		if p.Op == 1 {
			_ = send(map[string]any{"op": 11})
			select {
			case s.heartbeat <- struct{}{}:
			default:
			}
		}
	}
}

// WaitReady waits until a Gateway client identified and got READY.
func (s *Server) WaitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for gateway client: %w", ctx.Err())
	}
}

// WaitHeartbeat waits until the fake answered a heartbeat with an ACK.
func (s *Server) WaitHeartbeat(ctx context.Context) error {
	select {
	case <-s.heartbeat:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for heartbeat: %w", ctx.Err())
	}
}

// Push sends an interaction to every connected Gateway client as an
// INTERACTION_CREATE dispatch; it returns how many got it.
func (s *Server) Push(in Interaction) int {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	n := 0
	for c, gc := range s.conns {
		gc.mu.Lock()
		gc.seq++
		err := c.WriteJSON(map[string]any{"op": 0, "s": gc.seq, "t": "INTERACTION_CREATE", "d": json.RawMessage(in.Body)})
		gc.mu.Unlock()
		if err == nil {
			n++
		}
	}
	return n
}
