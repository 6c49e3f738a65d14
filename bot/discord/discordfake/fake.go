// Package discordfake is a local stand-in for Discord that speaks its wire
// protocol: REST under /api/v9 (channel messages with nonces, threads,
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
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

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
	Name string
	Data []byte
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
	Path   string // substring of the path after /api/v9
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

func (s *Server) id() string {
	s.nextID++
	return strconv.FormatUint(s.nextID, 10)
}

// serve routes every request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gw" || r.URL.Path == "/gw/" {
		s.serveGateway(w, r)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v9")
	rec := &recorder{ResponseWriter: w, status: 200}
	defer func() {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: path, Status: rec.status})
		s.mu.Unlock()
	}()
	if s.injected(rec, r.Method, path) {
		return
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(seg) == 1 && seg[0] == "gateway":
		writeJSON(rec, 200, map[string]string{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gw"})
	case len(seg) == 4 && seg[0] == "interactions" && seg[3] == "callback" && r.Method == "POST":
		s.callback(rec, r, seg[1], seg[2])
	case len(seg) >= 3 && seg[0] == "webhooks":
		s.webhook(rec, r, seg)
	case len(seg) == 3 && seg[0] == "users" && seg[1] == "@me" && seg[2] == "channels" && r.Method == "POST":
		if r.Header.Get("Authorization") != "Bot "+s.Token {
			writeJSON(rec, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		s.openDM(rec, r)
	case seg[0] == "channels" || seg[0] == "applications":
		if r.Header.Get("Authorization") != "Bot "+s.Token {
			writeJSON(rec, 401, map[string]any{"message": "401: Unauthorized", "code": 0})
			return
		}
		if seg[0] == "channels" {
			s.channels(rec, r, seg)
		} else {
			s.applications(rec, r, seg)
		}
	default:
		writeJSON(rec, 404, map[string]any{"message": "404: Not Found", "code": 0})
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *Server) injected(w http.ResponseWriter, method, path string) bool {
	s.mu.Lock()
	var hit *Rule
	for i, rule := range s.rules {
		if (rule.Method == "" || rule.Method == method) && strings.Contains(path, rule.Path) {
			hit = rule
			rule.Times--
			if rule.Times <= 0 {
				s.rules = append(s.rules[:i], s.rules[i+1:]...)
			}
			break
		}
	}
	s.mu.Unlock()
	if hit == nil {
		return false
	}
	for k, vs := range hit.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(hit.Status)
	_, _ = io.WriteString(w, hit.Body)
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	// Plenty left in every bucket unless a rule says otherwise.
	w.Header().Set("X-RateLimit-Limit", "50")
	w.Header().Set("X-RateLimit-Remaining", "49")
	w.Header().Set("X-RateLimit-Reset-After", "1.000")
	w.Header().Set("X-RateLimit-Bucket", "fake")
	if v == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// payload is a message body as bots send it (JSON or multipart payload_json).
type payload struct {
	Type         int             `json:"type"` // interaction callbacks only
	Data         *payload        `json:"data"`
	Content      *string         `json:"content"`
	Embeds       *[]Embed        `json:"embeds"`
	Components   *[]Component    `json:"components"`
	Nonce        json.RawMessage `json:"nonce"`
	EnforceNonce bool            `json:"enforce_nonce"`
	Flags        int             `json:"flags"`
	Attachments  *[]any          `json:"attachments"`
	Name         string          `json:"name"`
	Archive      int             `json:"auto_archive_duration"`
}

func readPayload(r *http.Request) (*payload, []File, error) {
	var p payload
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(r.Body, params["boundary"])
		var files []File
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, nil, err
			}
			b, err := io.ReadAll(part)
			if err != nil {
				return nil, nil, err
			}
			if part.FormName() == "payload_json" {
				if err := json.Unmarshal(b, &p); err != nil {
					return nil, nil, err
				}
			} else {
				files = append(files, File{Name: part.FileName(), Data: b})
			}
		}
		return &p, files, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, nil, err
	}
	if len(b) == 0 {
		return &p, nil, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, nil, err
	}
	return &p, nil, nil
}

func badRequest(w http.ResponseWriter, err error) {
	writeJSON(w, 400, map[string]any{"message": "Invalid Form Body: " + err.Error(), "code": 50035})
}

// apply writes a payload onto a message (post or edit semantics).
func apply(m *Message, p *payload, files []File, edit bool) {
	if p.Content != nil {
		m.Content = *p.Content
	}
	if p.Embeds != nil {
		m.Embeds = *p.Embeds
	}
	if p.Components != nil {
		m.Components = *p.Components
	}
	if p.Flags != 0 {
		m.Flags = p.Flags
	}
	if edit && p.Attachments != nil && len(*p.Attachments) == 0 {
		m.Files = nil
	}
	m.Files = append(m.Files, files...)
}

func empty(p *payload, files []File) bool {
	return (p.Content == nil || *p.Content == "") && (p.Embeds == nil || len(*p.Embeds) == 0) && len(files) == 0 &&
		(p.Components == nil || len(*p.Components) == 0)
}

func (s *Server) channels(w http.ResponseWriter, r *http.Request, seg []string) {
	channel := seg[1]
	s.mu.Lock()
	forbidden := s.forbidden[channel]
	s.mu.Unlock()
	if forbidden {
		writeJSON(w, 403, map[string]any{"message": "Missing Access", "code": 50001})
		return
	}
	switch {
	case len(seg) == 3 && seg[2] == "messages" && r.Method == "POST":
		p, files, err := readPayload(r)
		if err != nil {
			badRequest(w, err)
			return
		}
		if empty(p, files) {
			writeJSON(w, 400, map[string]any{"message": "Cannot send an empty message", "code": 50006})
			return
		}
		n := ""
		if len(p.Nonce) > 0 && string(p.Nonce) != "null" {
			_ = json.Unmarshal(p.Nonce, &n)
			if n == "" {
				n = string(p.Nonce)
			}
			if len(n) > 25 {
				badRequest(w, fmt.Errorf("nonce longer than 25"))
				return
			}
		}
		s.mu.Lock()
		if p.EnforceNonce && n != "" {
			if id, ok := s.nonces[channel+"|"+n]; ok {
				m := copyMsg(s.messages[id])
				s.mu.Unlock()
				writeJSON(w, 200, m)
				return
			}
		}
		m := &Message{ID: s.id(), ChannelID: channel, Nonce: n}
		apply(m, p, files, false)
		s.messages[m.ID] = m
		s.order = append(s.order, m.ID)
		if p.EnforceNonce && n != "" {
			s.nonces[channel+"|"+n] = m.ID
		}
		out := copyMsg(m)
		s.mu.Unlock()
		writeJSON(w, 200, out)
	case len(seg) == 4 && seg[2] == "messages" && r.Method == "GET":
		s.mu.Lock()
		m, ok := s.messages[seg[3]]
		var out Message
		if ok {
			out = copyMsg(m)
		}
		s.mu.Unlock()
		if !ok || out.ChannelID != channel {
			writeJSON(w, 404, map[string]any{"message": "Unknown Message", "code": 10008})
			return
		}
		writeJSON(w, 200, out)
	case len(seg) == 4 && seg[2] == "messages" && r.Method == "PATCH":
		p, files, err := readPayload(r)
		if err != nil {
			badRequest(w, err)
			return
		}
		s.mu.Lock()
		m, ok := s.messages[seg[3]]
		if !ok || m.ChannelID != channel {
			s.mu.Unlock()
			writeJSON(w, 404, map[string]any{"message": "Unknown Message", "code": 10008})
			return
		}
		apply(m, p, files, true)
		m.Edits++
		out := copyMsg(m)
		s.mu.Unlock()
		writeJSON(w, 200, out)
	case len(seg) == 5 && seg[2] == "messages" && seg[4] == "threads" && r.Method == "POST":
		p, _, err := readPayload(r)
		if err != nil {
			badRequest(w, err)
			return
		}
		switch p.Archive {
		case 60, 1440, 4320, 10080:
		default:
			badRequest(w, fmt.Errorf("auto_archive_duration %d", p.Archive))
			return
		}
		s.mu.Lock()
		m, ok := s.messages[seg[3]]
		if !ok || m.ChannelID != channel {
			s.mu.Unlock()
			writeJSON(w, 404, map[string]any{"message": "Unknown Message", "code": 10008})
			return
		}
		if _, exists := s.threads[m.ID]; exists {
			s.mu.Unlock()
			writeJSON(w, 400, map[string]any{"message": "A thread has already been created for this message", "code": 160004})
			return
		}
		t := &Thread{ID: m.ID, ParentID: channel, Name: p.Name, Archive: p.Archive}
		s.threads[t.ID] = t
		s.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": t.ID, "type": 11, "parent_id": channel, "name": t.Name})
	default:
		writeJSON(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
	}
}

func (s *Server) applications(w http.ResponseWriter, r *http.Request, seg []string) {
	// /applications/{app}/commands or /applications/{app}/guilds/{g}/commands
	if seg[1] != s.AppID {
		writeJSON(w, 403, map[string]any{"message": "Missing Access", "code": 50001})
		return
	}
	var sc string
	switch {
	case len(seg) == 3 && seg[2] == "commands":
		sc = "global"
	case len(seg) == 5 && seg[2] == "guilds" && seg[4] == "commands":
		sc = seg[3]
	default:
		writeJSON(w, 404, map[string]any{"message": "404: Not Found", "code": 0})
		return
	}
	switch r.Method {
	case "GET":
		s.mu.Lock()
		out := append([]json.RawMessage{}, s.commands[sc]...)
		s.mu.Unlock()
		writeJSON(w, 200, out)
	case "PUT":
		var cmds []map[string]any
		if err := json.NewDecoder(r.Body).Decode(&cmds); err != nil {
			badRequest(w, err)
			return
		}
		if err := validCommands(cmds); err != nil {
			badRequest(w, err)
			return
		}
		s.mu.Lock()
		var set []json.RawMessage
		for _, c := range cmds {
			name, _ := c["name"].(string)
			key := sc + "/" + name
			id, ok := s.commandIDs[key]
			if !ok {
				id = s.id()
				s.commandIDs[key] = id
			}
			c["id"], c["application_id"] = id, s.AppID
			if sc != "global" {
				c["guild_id"] = sc
			}
			b, _ := json.Marshal(c)
			set = append(set, b)
		}
		s.commands[sc] = set // an overwrite replaces the whole set
		s.mu.Unlock()
		writeJSON(w, 200, set)
	default:
		writeJSON(w, 405, map[string]any{"message": "405: Method Not Allowed", "code": 0})
	}
}

// validCommands checks the limits Discord enforces on command definitions.
func validCommands(cmds []map[string]any) error {
	var check func(path string, opts []any, depth int) error
	check = func(path string, opts []any, depth int) error {
		if len(opts) > 25 {
			return fmt.Errorf("%s: more than 25 options", path)
		}
		seen := map[string]bool{}
		optional := false
		for _, o := range opts {
			m, _ := o.(map[string]any)
			name, _ := m["name"].(string)
			d, _ := m["description"].(string)
			typ, _ := m["type"].(float64)
			if name == "" || len(name) > 32 || strings.ToLower(name) != name || seen[name] {
				return fmt.Errorf("%s: bad or duplicate option name %q", path, name)
			}
			seen[name] = true
			if d == "" || len([]rune(d)) > 100 {
				return fmt.Errorf("%s %s: description must be 1-100 characters", path, name)
			}
			if typ == 1 || typ == 2 {
				if depth >= 2 || (typ == 2 && depth >= 1) {
					return fmt.Errorf("%s %s: nested too deep", path, name)
				}
				sub, _ := m["options"].([]any)
				if err := check(path+" "+name, sub, depth+1); err != nil {
					return err
				}
				continue
			}
			req, _ := m["required"].(bool)
			if req && optional {
				return fmt.Errorf("%s %s: required option after an optional one", path, name)
			}
			optional = optional || !req
			if ch, _ := m["choices"].([]any); len(ch) > 25 {
				return fmt.Errorf("%s %s: more than 25 choices", path, name)
			}
		}
		return nil
	}
	for _, c := range cmds {
		name, _ := c["name"].(string)
		opts, _ := c["options"].([]any)
		if err := check("/"+name, opts, 0); err != nil {
			return err
		}
	}
	return nil
}

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
}

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
		"v": 9, "session_id": "fake-session", "resume_gateway_url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/gw",
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
