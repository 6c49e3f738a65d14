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
	"net/http"
	"net/http/httptest"
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

	mu        sync.Mutex
	changed   chan struct{}
	botToken  string
	appToken  string
	missing   map[string]bool
	messages  []*Message
	updates   []Message
	files     map[string]*File
	fileOrder []string
	responses map[string][]json.RawMessage
	uses      map[string]int // response_url uses, deletes included
	deletes   map[string]int // delete_original requests by response_url
	fail      map[string][]Failure
	views     []View

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
		uses:      map[string]int{},
		deletes:   map[string]int{},
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

// Deletes counts delete_original requests to a response_url.
func (s *Server) Deletes(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deletes[id]
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
	// Slack's ts is the post time in microseconds, unique in a channel:
	// taken from the fake's clock, one microsecond on when it stands still.
	us := s.now().UnixMicro()
	if us <= s.seq {
		us = s.seq + 1
	}
	s.seq = us
	return fmt.Sprintf("%d.%06d", us/1_000_000, us%1_000_000)
}
