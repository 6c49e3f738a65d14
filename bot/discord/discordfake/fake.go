// Package discordfake is a local stand-in for Discord that speaks its wire
// protocol: REST under /api/v10 only (channel messages with nonces, threads,
// command bulk overwrite, interaction callbacks, webhook follow-ups and
// @original edits that are refused before the initial response), rate-limit
// headers and 429 bodies, and a Gateway websocket (Hello, Identify, READY,
// INTERACTION_CREATE, heartbeat ACKs). It also plays Discord's side of the
// interactions endpoint: it signs and delivers interactions to a URL.
//
// discordgo's endpoint strings cannot be repointed, so clients reach the
// fake through Client(), whose transport rewrites scheme and host.
package discordfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// APIVersion is the one Discord API version the fake serves (REST path and
// Gateway query); other versions are refused.
const APIVersion = "10"

// Defaults of a new fake.
const (
	DefaultAppID = "100000000000000001"
	DefaultToken = "fake-bot-token"
)

// Component is a message component as posted (action rows and buttons).
type Component struct {
	Type       int         `json:"type"`
	Components []Component `json:"components,omitempty"`
	CustomID   string      `json:"custom_id,omitempty"`
	Label      string      `json:"label,omitempty"`
	Style      int         `json:"style,omitempty"`
	// Text inputs (type 4, in modals).
	Value     string `json:"value,omitempty"`
	MaxLength int    `json:"max_length,omitempty"`
	Required  *bool  `json:"required,omitempty"`
}

// Buttons flattens the action rows.
func Buttons(cs []Component) []Component {
	var out []Component
	for _, c := range cs {
		if c.Type == 2 {
			out = append(out, c)
		}
		out = append(out, Buttons(c.Components)...)
	}
	return out
}

// Embed is a posted embed.
type Embed struct {
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Color       int    `json:"color,omitempty"`
	Fields      []struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline,omitempty"`
	} `json:"fields,omitempty"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer,omitempty"`
}

// File is an uploaded attachment.
type File struct {
	ID   string
	Name string
	Data []byte
	// index is the n of the files[n] part that carried it.
	index int
}

// Message is a message as the fake holds it.
type Message struct {
	ID         string      `json:"id"`
	ChannelID  string      `json:"channel_id"`
	Content    string      `json:"content"`
	Embeds     []Embed     `json:"embeds"`
	Components []Component `json:"components"`
	Nonce      string      `json:"nonce,omitempty"`
	Flags      int         `json:"flags,omitempty"`
	Files      []File      `json:"-"`
	Edits      int         `json:"-"`
	Deleted    bool        `json:"-"`
	// allowed is the allowed_mentions the message was last sent with.
	allowed *allowedMentions
}

// Text is the message's content, embed titles, descriptions and fields, for
// assertions.
func (m Message) Text() string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, e := range m.Embeds {
		b.WriteString("\n" + e.Title + "\n" + e.Description)
		for _, f := range e.Fields {
			b.WriteString("\n" + f.Name + ": " + f.Value)
		}
		if e.Footer != nil {
			b.WriteString("\n" + e.Footer.Text)
		}
	}
	return b.String()
}

// Modal is a modal as the bot asked Discord to show it.
type Modal struct {
	CustomID   string
	Title      string
	Components []Component
}

// Thread is a thread started from a message.
type Thread struct {
	ID, ParentID, Name string
	Archive            int
}

// Interaction is one interaction the fake sent, and what the bot did with it.
type Interaction struct {
	ID, Token string
	Body      []byte
	// Initial is the type of the initial response (0 = none yet).
	Initial int
	// Callbacks counts initial responses tried (a second one is refused).
	Callbacks int
	// Original is the response message (@original).
	Original *Message
	// Followups are follow-up messages.
	Followups []Message
	// EarlyEdits counts @original edits refused because no initial
	// response had been sent.
	EarlyEdits int
	// Modal is the modal shown in answer (type 9).
	Modal *Modal
	// Choices are the autocomplete answer's choices (type 8).
	Choices []json.RawMessage
	// Events lists what happened in order: "callback 5", "edit", "delete", "followup".
	Events []string

	// recorded is set while Deliver sends the interaction and closed once
	// the endpoint's answer was read. watched says the endpoint runs behind
	// Endpoint, so written tells exactly when its answer went out.
	recorded chan struct{}
	watched  bool
	written  bool
}

// Request is a logged REST request.
type Request struct {
	Method, Path string
	Status       int
}

// Rule makes matching requests fail with a canned response.
type Rule struct {
	Method string // "" = any
	Path   string // substring of the path after /api/v10
	Status int
	Body   string
	Header http.Header
	Times  int // how many requests it answers; 0 = 1
}

// Server is the fake.
type Server struct {
	AppID string
	Token string // bot token expected after "Bot "

	srv *httptest.Server

	dms map[string]string // DM channel id → user (POST /users/@me/channels), under mu

	mu           sync.Mutex
	nextID       uint64
	messages     map[string]*Message // by id
	order        []string            // message ids in post order
	nonces       map[string]string   // channel+nonce → message id
	threads      map[string]*Thread
	commands     map[string][]json.RawMessage // scope ("global" or guild id) → commands
	commandIDs   map[string]string            // scope/name → id
	interactions map[string]*Interaction      // by token
	byID         map[string]*Interaction
	requests     []Request
	rules        []*Rule
	forbidden    map[string]bool
	holding      func() // called when an @original request waits for the answer (tests)

	// Gateway.
	gwMu      sync.Mutex
	conns     map[*websocket.Conn]*gwConn
	identify  chan json.RawMessage
	ready     chan struct{}
	heartbeat chan struct{}
}

type gwConn struct {
	mu  sync.Mutex
	seq int
}

// New starts a fake; Close stops it.
func New() *Server {
	s := &Server{
		AppID: DefaultAppID, Token: DefaultToken,
		nextID:       1200000000000000000,
		messages:     map[string]*Message{},
		nonces:       map[string]string{},
		threads:      map[string]*Thread{},
		commands:     map[string][]json.RawMessage{},
		commandIDs:   map[string]string{},
		interactions: map[string]*Interaction{},
		byID:         map[string]*Interaction{},
		forbidden:    map[string]bool{},
		conns:        map[*websocket.Conn]*gwConn{},
		identify:     make(chan json.RawMessage, 16),
		ready:        make(chan struct{}, 16),
		heartbeat:    make(chan struct{}, 1024),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the fake's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// Close closes gateway connections and stops the server. Close bot
// sessions first, or they will try to reconnect.
func (s *Server) Close() {
	s.gwMu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.gwMu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Client returns an http.Client whose transport sends discord.com requests here.
func (s *Server) Client() *http.Client {
	u, _ := url.Parse(s.srv.URL)
	return &http.Client{Timeout: 10 * time.Second, Transport: rewrite{u: u, next: s.srv.Client().Transport}}
}

type rewrite struct {
	u    *url.URL
	next http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.u.Scheme, r.u.Host, r.u.Host
	return r.next.RoundTrip(req)
}

// Inject adds a failure rule, consumed in order by matching requests.
func (s *Server) Inject(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Times == 0 {
		r.Times = 1
	}
	s.rules = append(s.rules, &r)
}

// RateLimit makes the next times matching requests answer 429 with a JSON
// body carrying retry_after (seconds) and Discord's rate-limit headers.
func (s *Server) RateLimit(method, path string, retryAfter float64, times int) {
	ra := strconv.FormatFloat(retryAfter, 'f', 3, 64)
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(retryAfter+0.999)))
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset-After", ra)
	h.Set("X-RateLimit-Bucket", "fake-bucket")
	h.Set("X-RateLimit-Scope", "user")
	s.Inject(Rule{Method: method, Path: path, Status: http.StatusTooManyRequests, Header: h, Times: times,
		Body: fmt.Sprintf(`{"message":"You are being rate limited.","retry_after":%s,"global":false}`, ra)})
}

// Forbid makes posts to a channel fail with 403 Missing Access.
func (s *Server) Forbid(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forbidden[channel] = true
}

// Requests returns the REST requests seen so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages posted to a channel (or thread), oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.ChannelID == channel {
			out = append(out, copyMsg(m))
		}
	}
	return out
}

// Message returns a message by id.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return copyMsg(m), true
}

// Thread returns a thread by id.
func (s *Server) Thread(id string) (Thread, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.threads[id]
	if !ok {
		return Thread{}, false
	}
	return *t, true
}

// Commands returns the registered commands of a scope ("" = global).
func (s *Server) Commands(guild string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, raw := range s.commands[scope(guild)] {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		out = append(out, m)
	}
	return out
}

// Interaction returns the state of an interaction by token.
func (s *Server) Interaction(token string) (Interaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.interactions[token]
	if !ok {
		return Interaction{}, false
	}
	c := *in
	c.Followups = append([]Message(nil), in.Followups...)
	c.Events = append([]string(nil), in.Events...)
	c.Choices = append([]json.RawMessage(nil), in.Choices...)
	if in.Original != nil {
		o := copyMsg(in.Original)
		c.Original = &o
	}
	return c, true
}

func copyMsg(m *Message) Message {
	c := *m
	c.Embeds = append([]Embed(nil), m.Embeds...)
	c.Components = append([]Component(nil), m.Components...)
	c.Files = append([]File(nil), m.Files...)
	return c
}

func scope(guild string) string {
	if guild == "" {
		return "global"
	}
	return guild
}

// id is a new snowflake: milliseconds since Discord's epoch, so ids
// order by time and history can be read from a time on.
func (s *Server) id() string {
	ms := time.Now().UnixMilli() - 1420070400000
	s.nextID = max(s.nextID+1, uint64(ms)<<22)
	return strconv.FormatUint(s.nextID, 10)
}
