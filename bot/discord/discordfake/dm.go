package discordfake

import (
	"encoding/json"
	"net/http"
	"regexp"
)

var snowflake = regexp.MustCompile(`^[0-9]{15,20}$`)

// openDM answers POST /users/@me/channels {"recipient_id": "<user>"}: the
// DM channel (type 1) with that user, the same on every call. Like
// Discord it refuses a missing or malformed recipient with 400 Invalid Form
// Body (50035).
func (s *Server) openDM(w http.ResponseWriter, r *http.Request) {
	var body struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !snowflake.MatchString(body.RecipientID) {
		writeJSON(w, 400, map[string]any{"message": "Invalid Form Body", "code": 50035,
			"errors": map[string]any{"recipient_id": map[string]any{"_errors": []map[string]string{{"code": "NUMBER_TYPE_COERCE", "message": "Value is not snowflake."}}}}})
		return
	}
	id := "9" + body.RecipientID[1:]
	s.mu.Lock()
	if s.dms == nil {
		s.dms = map[string]string{}
	}
	s.dms[id] = body.RecipientID
	s.mu.Unlock()
	writeJSON(w, 200, map[string]any{"id": id, "type": 1, "recipients": []map[string]string{{"id": body.RecipientID}}})
}

// DMUser returns the user of a DM channel opened through /users/@me/channels ("" when none).
func (s *Server) DMUser(channel string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dms[channel]
}
