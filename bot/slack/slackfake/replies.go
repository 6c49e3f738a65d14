package slackfake

import "net/http"

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
	wd, code := readWindow(f, 1000, 1000)
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
		if !wd.holds(m.TS) {
			continue
		}
		msg := wd.message(m, map[string]any{"thread_ts": root})
		all = append(all, msg)
	}
	if !found {
		slackErr(w, "thread_not_found")
		return
	}
	wd.writePage(w, all)
}
