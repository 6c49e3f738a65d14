package slackfake

import (
	"net/http"
	"strconv"
	"strings"
)

// replies serves conversations.replies: the thread of ts in channel, the
// parent first then its replies oldest first, within oldest and latest,
// limit a page (cursor "page:N"). Like Slack it refuses a missing ts
// (invalid_arguments) and a ts that starts no thread it holds
// (thread_not_found); metadata comes back only with include_all_metadata.
func (s *Server) replies(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	ch, root := f.Get("channel"), f.Get("ts")
	if root == "" {
		slackErr(w, "invalid_arguments")
		return
	}
	withMeta := f.Get("include_all_metadata") == "1" || f.Get("include_all_metadata") == "true"
	inclusive := f.Get("inclusive") == "1" || f.Get("inclusive") == "true"
	limit := 1000
	if v := f.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			slackErr(w, "invalid_limit")
			return
		}
		limit = min(n, 1000)
	}
	oldest, latest := tsValue(f.Get("oldest")), tsValue(f.Get("latest"))
	if oldest < 0 || latest < 0 {
		slackErr(w, "invalid_ts_oldest")
		return
	}
	skip := 0
	if c := f.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "page:"))
		if err != nil || !strings.HasPrefix(c, "page:") || n < 0 {
			slackErr(w, "invalid_cursor")
			return
		}
		skip = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.missing[ch] {
		slackErr(w, "channel_not_found")
		return
	}
	var all []map[string]any
	found := false
	for _, m := range s.messages {
		if m.Channel != ch || m.Method != "chat.postMessage" {
			continue
		}
		isRoot := m.TS == root && m.ThreadTS == ""
		if !isRoot && m.ThreadTS != root {
			continue
		}
		found = found || isRoot
		ts := tsValue(m.TS)
		if (oldest > 0 && (ts < oldest || (ts == oldest && !inclusive))) || (latest > 0 && (ts > latest || (ts == latest && !inclusive))) {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "thread_ts": root, "text": m.Text}
		if withMeta && m.Metadata != nil {
			msg["metadata"] = m.Metadata
		}
		all = append(all, msg)
	}
	if !found {
		slackErr(w, "thread_not_found")
		return
	}
	out := all[min(skip, len(all)):]
	more := len(out) > limit
	next := ""
	if more {
		out = out[:limit]
		next = "page:" + strconv.Itoa(skip+limit)
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": out, "has_more": more, "response_metadata": map[string]any{"next_cursor": next}})
}
