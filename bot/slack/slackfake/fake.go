// Package slackfake is a small local Slack for tests: it speaks the Web API
// methods opsbot uses (form-encoded, token-checked), response_url posts,
// the three-step file upload, conversations.history with metadata, and
// Socket Mode (apps.connections.open, a websocket with hello, envelopes,
// acks and pings). It records what it received, and when on a clock a test
// may set, so tests can assert it; FailChannel makes one channel fail or
// answer slowly while the others are served.
package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Default tokens the fake accepts.
const (
	BotToken = "xoxb-fake-bot-token"
	AppToken = "xapp-fake-app-token"
)

// Message is a message posted (or edited) through the Web API.
type Message struct {
	Method      string // chat.postMessage, chat.postEphemeral
	Channel     string
	User        string // ephemeral recipient
	TS          string
	ThreadTS    string
	Text        string
	Blocks      json.RawMessage
	Attachments json.RawMessage
	Metadata    json.RawMessage
	Edits       int
	// Received is when the fake took the message (for an update, the
	// edit), on the fake's clock (SetClock).
	Received time.Time
}

// Request is one Web API call that named a channel, as the fake answered it.
type Request struct {
	Method  string
	Channel string
	At      time.Time // on the fake's clock
	Status  int       // HTTP status answered
}

// FaultFunc decides the fate of a Web API call naming a channel: it may
// block (a slow platform; it should also return when ctx ends), then
// returns the failure to answer, or nil to serve the call normally.
type FaultFunc func(ctx context.Context, method string) *Failure

// File is an uploaded file.
type File struct {
	ID, Name, Title  string
	Length           int
	Data             []byte
	Channel          string
	ThreadTS         string
	Completed        bool
	UploadedBodySize int
}

// Failure is a canned failure for the next call of a method.
type Failure struct {
	Status     int    // HTTP status (default 200 with ok:false)
	RetryAfter string // Retry-After header
	Error      string // Slack error code for ok:false
}

// Server is the fake. Make it with New and Close it when done.
type Server struct {
	srv      *httptest.Server
	upgrader websocket.Upgrader
	// PingEvery is how often the socket pings the client.
	PingEvery time.Duration

	mu         sync.Mutex
	changed    chan struct{}
	botToken   string
	appToken   string
	missing    map[string]bool
	messages   []*Message
	updates    []Message
	files      map[string]*File
	fileOrder  []string
	responses  map[string][]json.RawMessage
	fail       map[string][]Failure
	faults     map[string]FaultFunc
	now        func() time.Time
	requests   []Request
	calls      map[string]int
	seq        int64
	conns      []*conn
	acks       map[string]json.RawMessage
	envelopeNo int
	dms        map[string]string // DM channel id → user (conversations.open)
}

type conn struct {
	mu sync.Mutex
	ws *websocket.Conn
}

func (c *conn) write(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

// New starts a fake on a loopback port.
func New() *Server {
	s := &Server{
		PingEvery: 200 * time.Millisecond,
		changed:   make(chan struct{}),
		botToken:  BotToken,
		appToken:  AppToken,
		missing:   map[string]bool{},
		files:     map[string]*File{},
		responses: map[string][]json.RawMessage{},
		fail:      map[string][]Failure{},
		faults:    map[string]FaultFunc{},
		now:       time.Now,
		calls:     map[string]int{},
		acks:      map[string]json.RawMessage{},
		dms:       map[string]string{},
	}
	// slack-go sends Origin https://api.slack.com, as Slack expects.
	s.upgrader.CheckOrigin = func(*http.Request) bool { return true }
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("GET /socket", s.socket)
	mux.HandleFunc("POST /upload/{id}", s.upload)
	mux.HandleFunc("POST /response/{id}", s.response)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the fake and its sockets.
func (s *Server) Close() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// URL is the fake's base URL.
func (s *Server) URL() string { return s.srv.URL }

// APIURL is the Web API base to configure as slack.api_url.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// ResponseURL is a response_url the fake accepts, named id.
func (s *Server) ResponseURL(id string) string { return s.srv.URL + "/response/" + id }

// SetTokens changes the tokens the fake accepts.
func (s *Server) SetTokens(bot, app string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.botToken, s.appToken = bot, app
}

// Missing makes channel unknown (channel_not_found).
func (s *Server) Missing(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missing[channel] = true
}

// Fail queues a failure for the next call of method (e.g. "chat.postMessage").
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], f)
}

// FailChannel injects a fault for every Web API call naming channel (a
// post, reply, edit, history read or upload completion there) until it is
// called again with nil. Other channels are served as usual.
func (s *Server) FailChannel(channel string, f FaultFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil {
		delete(s.faults, channel)
		return
	}
	s.faults[channel] = f
}

// SetClock sets the clock of Received and Request times (default time.Now).
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Requests returns the Web API calls that named channel, in order, with
// when each arrived and the status answered.
func (s *Server) Requests(channel string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if r.Channel == channel {
			out = append(out, r)
		}
	}
	return out
}

// Calls is how many times method was called (failures included).
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// Messages returns the posted messages, in order, as they are now.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// Updates returns every chat.update received, in order.
func (s *Server) Updates() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.updates...)
}

// Files returns the uploaded files in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]File, 0, len(s.fileOrder))
	for _, id := range s.fileOrder {
		out = append(out, *s.files[id])
	}
	return out
}

// Responses returns the bodies posted to response_url id.
func (s *Server) Responses(id string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.responses[id]...)
}

// Await waits until cond holds (checked after every change) or ctx ends.
func (s *Server) Await(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slackfake: condition not met: %w", ctx.Err())
		}
	}
}

// bump wakes Await; call with mu held.
func (s *Server) bump() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", 1700000000+s.seq/1_000_000, s.seq%1_000_000)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func slackErr(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": code})
}

func bearer(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	if err := r.ParseForm(); err != nil && method != "apps.connections.open" {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	channel := r.PostForm.Get("channel")
	if channel == "" {
		channel = r.PostForm.Get("channel_id")
	}
	s.mu.Lock()
	s.calls[method]++
	var f *Failure
	if q := s.fail[method]; len(q) > 0 {
		f, s.fail[method] = &q[0], q[1:]
	}
	fault := s.faults[channel]
	at := s.now()
	bot, app := s.botToken, s.appToken
	s.bump()
	s.mu.Unlock()
	if f == nil && fault != nil && channel != "" {
		f = fault(r.Context(), method)
	}
	if channel != "" {
		status := http.StatusOK
		if f != nil && f.Status != 0 {
			status = f.Status
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: method, Channel: channel, At: at, Status: status})
		s.bump()
		s.mu.Unlock()
	}
	if f != nil {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Status != 0 && f.Status != http.StatusOK {
			writeJSON(w, f.Status, map[string]any{"ok": false, "error": f.Error})
			return
		}
		slackErr(w, f.Error)
		return
	}
	if method == "apps.connections.open" {
		if bearer(r) != app || app == "" {
			slackErr(w, "invalid_auth")
			return
		}
		u := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket"
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": u})
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		tok = bearer(r)
	}
	if tok == "" {
		slackErr(w, "not_authed")
		return
	}
	if tok != bot {
		slackErr(w, "invalid_auth")
		return
	}
	switch method {
	case "auth.test":
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": "https://fake.slack.test/", "team": "Fake", "user": "opsbot", "team_id": "T0FAKE", "user_id": "U0BOT", "bot_id": "B0BOT"})
	case "chat.postMessage", "chat.postEphemeral":
		s.post(w, r, method)
	case "chat.update":
		s.update(w, r)
	case "conversations.history":
		s.history(w, r)
	case "conversations.open":
		s.openDM(w, r)
	case "files.getUploadURLExternal":
		s.getUploadURL(w, r)
	case "files.completeUploadExternal":
		s.completeUpload(w, r)
	default:
		slackErr(w, "unknown_method")
	}
}

func (s *Server) post(w http.ResponseWriter, r *http.Request, method string) {
	f := r.PostForm
	ch := f.Get("channel")
	if ch == "" {
		slackErr(w, "channel_not_found")
		return
	}
	if f.Get("text") == "" && f.Get("blocks") == "" && f.Get("attachments") == "" {
		slackErr(w, "no_text")
		return
	}
	for _, k := range []string{"blocks", "attachments", "metadata"} {
		if v := f.Get(k); v != "" && !json.Valid([]byte(v)) {
			slackErr(w, "invalid_"+k)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[ch] || (strings.HasPrefix(ch, "D") && s.dms[ch] == "") {
		// A DM channel exists only once conversations.open made it.
		slackErr(w, "channel_not_found")
		return
	}
	m := &Message{Method: method, Channel: ch, User: f.Get("user"), ThreadTS: f.Get("thread_ts"), Text: f.Get("text"),
		Blocks: raw(f.Get("blocks")), Attachments: raw(f.Get("attachments")), Metadata: raw(f.Get("metadata")), TS: s.nextTS(), Received: s.now()}
	s.messages = append(s.messages, m)
	s.bump()
	if method == "chat.postEphemeral" {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "message_ts": m.TS})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch, "ts": m.TS, "message": map[string]any{"text": m.Text, "ts": m.TS}})
}

func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Channel == f.Get("channel") && m.TS == f.Get("ts") && m.Method == "chat.postMessage" {
			// Like Slack, keep blocks and attachments the update leaves out.
			m.Text = f.Get("text")
			if f.Has("blocks") {
				m.Blocks = raw(f.Get("blocks"))
			}
			if f.Has("attachments") {
				m.Attachments = raw(f.Get("attachments"))
			}
			if md := f.Get("metadata"); md != "" {
				m.Metadata = raw(md)
			}
			m.Edits++
			u := *m
			u.Received = s.now()
			s.updates = append(s.updates, u)
			s.bump()
			writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
			return
		}
	}
	slackErr(w, "message_not_found")
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	ch := f.Get("channel")
	withMeta := f.Get("include_all_metadata") == "1" || f.Get("include_all_metadata") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[ch] {
		slackErr(w, "channel_not_found")
		return
	}
	var out []map[string]any
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if m.Channel != ch || m.Method != "chat.postMessage" || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if withMeta && m.Metadata != nil {
			msg["metadata"] = m.Metadata
		}
		out = append(out, msg)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": out, "has_more": false})
}

func (s *Server) getUploadURL(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	n := 0
	fmt.Sscan(f.Get("length"), &n)
	if f.Get("filename") == "" || n <= 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("F%04d", len(s.fileOrder)+1)
	s.files[id] = &File{ID: id, Name: f.Get("filename"), Length: n}
	s.fileOrder = append(s.fileOrder, id)
	s.bump()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "upload_url": s.srv.URL + "/upload/" + id, "file_id": id})
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		http.Error(w, "want multipart", http.StatusBadRequest)
		return
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var data []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, "bad multipart", http.StatusBadRequest)
			return
		}
		if p.FormName() == "file" {
			data, _ = io.ReadAll(p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[id]
	if !ok {
		http.Error(w, "unknown file", http.StatusNotFound)
		return
	}
	f.Data = data
	f.UploadedBodySize = len(data)
	s.bump()
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "OK - "+fmt.Sprint(len(data)))
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	var files []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(f.Get("files")), &files); err != nil || len(files) == 0 {
		slackErr(w, "invalid_arguments")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := f.Get("channel_id")
	if s.missing[ch] {
		slackErr(w, "channel_not_found")
		return
	}
	out := []map[string]any{}
	for _, x := range files {
		file, ok := s.files[x.ID]
		if !ok || file.Data == nil {
			slackErr(w, "file_not_found")
			return
		}
		file.Title, file.Channel, file.ThreadTS, file.Completed = x.Title, ch, f.Get("thread_ts"), true
		out = append(out, map[string]any{"id": x.ID, "title": x.Title})
	}
	s.bump()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "files": out})
}

// response serves response_url posts: JSON, no auth, at most five uses.
func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(r.Body)
	if err != nil || !json.Valid(body) {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.responses[id]) >= 5 {
		http.Error(w, "used_url", http.StatusNotFound)
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
