package discordfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// serve routes every request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gw" || r.URL.Path == "/gw/" {
		s.serveGateway(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/api/v"+APIVersion+"/")
	if !ok {
		// Only the API version the bot must speak is served.
		writeJSON(w, 400, map[string]any{"message": "Invalid API version provided", "code": 50041})
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Status: 400})
		s.mu.Unlock()
		return
	}
	path = "/" + path
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
	case len(seg) == 3 && seg[2] == "messages" && r.Method == "GET":
		s.history(w, r, channel)
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
			ch, _ := m["choices"].([]any)
			if len(ch) > 25 {
				return fmt.Errorf("%s %s: more than 25 choices", path, name)
			}
			if auto, _ := m["autocomplete"].(bool); auto && (len(ch) > 0 || (typ != 3 && typ != 4 && typ != 10)) {
				return fmt.Errorf("%s %s: autocomplete takes no choices and only a string or number option", path, name)
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
