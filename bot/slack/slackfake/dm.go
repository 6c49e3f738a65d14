package slackfake

import (
	"net/http"
	"regexp"
	"strings"
)

var userID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// openDM answers conversations.open with users=<one user id>: the DM
// channel ("D" and the user id), made on first use. It refuses no users
// (users_list_not_supplied) and a malformed id (user_not_found) as Slack
// does, and several users (a group DM, which opsbot never opens) with
// invalid_users.
func (s *Server) openDM(w http.ResponseWriter, r *http.Request) {
	users := r.PostForm.Get("users")
	switch {
	case users == "" && r.PostForm.Get("channel") == "":
		slackErr(w, "users_list_not_supplied")
		return
	case strings.Contains(users, ","):
		slackErr(w, "invalid_users")
		return
	case !userID.MatchString(users):
		slackErr(w, "user_not_found")
		return
	}
	id := "D" + strings.TrimLeft(users, "UW")
	s.mu.Lock()
	s.dms[id] = users
	s.calls["conversations.open:"+users]++
	s.bump()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": map[string]any{"id": id}})
}

// DMUser returns the user of a DM channel opened through conversations.open ("" when none).
func (s *Server) DMUser(channel string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dms[channel]
}
