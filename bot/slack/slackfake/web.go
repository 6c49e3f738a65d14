package slackfake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

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
	case "conversations.open":
		s.openDM(w, r)
	case "conversations.history":
		s.history(w, r)
	case "conversations.replies":
		s.replies(w, r)
	case "views.open":
		s.openView(w, r)
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
	if code := checkMessage(f.Get("text"), f.Get("blocks"), f.Get("attachments")); code != "" {
		slackErr(w, code)
		return
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
	if code := checkMessage(f.Get("text"), f.Get("blocks"), f.Get("attachments")); code != "" {
		slackErr(w, code)
		return
	}
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
	wd, code := readWindow(f, 100, 999)
	if code != "" {
		slackErr(w, code)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[ch] {
		slackErr(w, "channel_not_found")
		return
	}
	// Newest first, within oldest and latest.
	var all []map[string]any
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if m.Channel != ch || m.Method != "chat.postMessage" || (m.ThreadTS != "" && m.ThreadTS != m.TS) {
			continue
		}
		if !wd.holds(m.TS) {
			continue
		}
		msg := wd.message(m, nil)
		all = append(all, msg)
	}
	wd.writePage(w, all)
}

// tsValue reads a Slack ts as microseconds (0 = none, -1 = malformed).
func tsValue(ts string) int64 {
	if ts == "" || ts == "0" {
		return 0
	}
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return -1
	}
	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return -1
	}
	return s*1_000_000 + us
}
