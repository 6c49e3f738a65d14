package discordfake

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// ---- interactions the fake sends ----

// User is who sends an interaction.
type User struct {
	ID, Name string
	Roles    []string
	// DM sends it from a direct message (user, no member).
	DM bool
}

// Option is a typed command option as Discord sends it.
type Option struct {
	Name    string   `json:"name"`
	Type    int      `json:"type"`
	Value   any      `json:"value,omitempty"`
	Options []Option `json:"options,omitempty"`
	Focused bool     `json:"focused,omitempty"`
}

// Typing is the option being typed in an autocomplete interaction.
func Typing(name, v string) Option { return Option{Name: name, Type: 3, Value: v, Focused: true} }

// TypingInt is an integer option being typed: Discord sends what was typed
// so far as a string.
func TypingInt(name, v string) Option { return Option{Name: name, Type: 4, Value: v, Focused: true} }

// Sub is a subcommand option.
func Sub(name string, opts ...Option) Option { return Option{Name: name, Type: 1, Options: opts} }

// Group is a subcommand group option.
func Group(name string, subs ...Option) Option { return Option{Name: name, Type: 2, Options: subs} }

// Str is a string option.
func Str(name, v string) Option { return Option{Name: name, Type: 3, Value: v} }

// Int is an integer option.
func Int(name string, v int) Option { return Option{Name: name, Type: 4, Value: v} }

// Bool is a boolean option.
func Bool(name string, v bool) Option { return Option{Name: name, Type: 5, Value: v} }

// Num is a number option.
func Num(name string, v float64) Option { return Option{Name: name, Type: 10, Value: v} }

func (s *Server) newInteraction(body map[string]any) *Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := &Interaction{ID: s.id()}
	in.Token = "tok-" + in.ID
	body["id"], body["token"], body["application_id"], body["version"] = in.ID, in.Token, s.AppID, 1
	in.Body, _ = json.Marshal(body)
	s.interactions[in.Token] = in
	s.byID[in.ID] = in
	return in
}

func who(u User, channel string, body map[string]any) {
	user := map[string]any{"id": u.ID, "username": u.Name, "global_name": u.Name}
	body["channel_id"] = channel
	if u.DM {
		body["user"] = user
		return
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	body["guild_id"] = "300000000000000001"
	body["member"] = map[string]any{"user": user, "roles": roles, "nick": nil, "joined_at": "2024-01-01T00:00:00Z"}
}

// NewCommand makes an /ops interaction with the given options.
func (s *Server) NewCommand(u User, channel string, opts ...Option) Interaction {
	body := map[string]any{"type": 2, "data": map[string]any{"id": "400000000000000001", "name": "ops", "type": 1, "options": opts}}
	who(u, channel, body)
	return s.snapshot(s.newInteraction(body))
}

// NewAutocomplete makes an autocomplete interaction (type 4): opts hold
// the subcommand path with one option made by Typing.
func (s *Server) NewAutocomplete(u User, channel string, opts ...Option) Interaction {
	body := map[string]any{"type": 4, "data": map[string]any{"id": "400000000000000001", "name": "ops", "type": 1, "options": opts}}
	who(u, channel, body)
	return s.snapshot(s.newInteraction(body))
}

// NewModalSubmit makes the submission of a modal (type 5): customID is
// the modal's, values the text inputs' answers by custom_id.
func (s *Server) NewModalSubmit(u User, channel, customID string, values map[string]string) Interaction {
	var rows []any
	for id, v := range values {
		rows = append(rows, map[string]any{"type": 1, "components": []any{map[string]any{"type": 4, "custom_id": id, "value": v}}})
	}
	body := map[string]any{"type": 5, "data": map[string]any{"custom_id": customID, "components": rows}}
	who(u, channel, body)
	return s.snapshot(s.newInteraction(body))
}

// NewClick makes a button click on message msgID with custom_id.
func (s *Server) NewClick(u User, channel, msgID, customID string) Interaction {
	body := map[string]any{"type": 3, "data": map[string]any{"custom_id": customID, "component_type": 2},
		"message": map[string]any{"id": msgID, "channel_id": channel, "content": "", "embeds": []any{}, "components": []any{}}}
	who(u, channel, body)
	return s.snapshot(s.newInteraction(body))
}

// NewPing makes a PING interaction.
func (s *Server) NewPing() Interaction {
	return s.snapshot(s.newInteraction(map[string]any{"type": 1}))
}

func (s *Server) snapshot(in *Interaction) Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *in
}

// AddMessage stores a message as if the bot had posted it (for clicks on
// answers that were given inline).
func (s *Server) AddMessage(channel string, m Message) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID, m.ChannelID = s.id(), channel
	s.messages[m.ID] = &m
	s.order = append(s.order, m.ID)
	return m.ID
}

// Sign signs timestamp+body as Discord does.
func Sign(priv ed25519.PrivateKey, timestamp string, body []byte) string {
	return hex.EncodeToString(ed25519.Sign(priv, append([]byte(timestamp), body...)))
}

// Deliver POSTs a signed interaction to an interactions endpoint, as
// Discord does, and records a 200 answer as the initial response. Serve the
// endpoint through Endpoint so that an @original request sent before the
// answer is caught; from another process only what follows a finished
// delivery can be judged.
func (s *Server) Deliver(ctx context.Context, client *http.Client, endpoint string, priv ed25519.PrivateKey, at time.Time, in Interaction) (int, []byte, error) {
	ts := strconv.FormatInt(at.Unix(), 10)
	s.mu.Lock()
	st := s.interactions[in.Token]
	recorded := make(chan struct{})
	if st != nil {
		st.recorded = recorded
	}
	s.mu.Unlock()
	defer close(recorded)
	req, err := http.NewRequestWithContext(ctx, "POST", endpoint, bytes.NewReader(in.Body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", Sign(priv, ts, in.Body))
	req.Header.Set("X-Signature-Timestamp", ts)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	s.recordAnswer(st, resp.StatusCode, body)
	return resp.StatusCode, body, nil
}

// Endpoint wraps an interactions endpoint handler so the fake sees the
// moment its answer goes out (flushed, or the handler returned), as Discord
// would: an @original request before that moment is refused; one after it
// waits until Deliver has read the answer. Without it the fake could only
// see when Deliver's reader got the answer, which on a busy machine can come
// after the bot's next request, a false "early edit".
func (s *Server) Endpoint(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			badRequest(w, err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var p struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(body, &p)
		s.mu.Lock()
		in := s.interactions[p.Token]
		if in != nil {
			in.watched = true
		}
		s.mu.Unlock()
		ww := &watchWriter{ResponseWriter: w, out: func() {
			if in != nil {
				s.mu.Lock()
				in.written = true
				s.mu.Unlock()
			}
		}}
		h.ServeHTTP(ww, r)
		// net/http sends what is left once the handler returns.
		ww.out()
	})
}

// watchWriter reports when the answer was flushed to the connection.
type watchWriter struct {
	http.ResponseWriter
	out func()
}

func (w *watchWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	w.out()
}

func (w *watchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recordAnswer takes a 200 answer of the endpoint as the initial response.
func (s *Server) recordAnswer(st *Interaction, code int, body []byte) {
	if code != 200 || st == nil {
		return
	}
	var p payload
	if json.Unmarshal(body, &p) != nil || p.Type <= 1 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := check(&p, nil); err != nil {
		// Discord shows the user "This interaction failed".
		st.Events = append(st.Events, "refused answer: "+err.Error())
		return
	}
	if st.Initial == 0 {
		s.initial(st, &p, nil)
	}
}

// DeliverHandler hands a signed interaction to an endpoint handler in
// process, the way net/http would: the answer counts as sent when
// ServeHTTP returns, and only then is the request's context cancelled.
// Unlike Deliver over a socket, the moment the answer was sent is exact,
// so an @original edit that comes before it is always caught.
func (s *Server) DeliverHandler(h http.Handler, priv ed25519.PrivateKey, at time.Time, in Interaction) (int, []byte) {
	ts := strconv.FormatInt(at.Unix(), 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequest("POST", "/discord/interactions", bytes.NewReader(in.Body)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", Sign(priv, ts, in.Body))
	req.Header.Set("X-Signature-Timestamp", ts)
	rec := httptest.NewRecorder()
	h.ServeHTTP(slowWriter{rec}, req)
	s.mu.Lock()
	st := s.interactions[in.Token]
	s.mu.Unlock()
	s.recordAnswer(st, rec.Code, rec.Body.Bytes())
	return rec.Code, rec.Body.Bytes()
}

// slowWriter takes its time to write, as a network does: a bot that edits
// @original while its answer is still being written is caught.
type slowWriter struct{ *httptest.ResponseRecorder }

func (w slowWriter) Write(b []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	return w.ResponseRecorder.Write(b)
}

func (w slowWriter) Flush() { w.ResponseRecorder.Flush() }
