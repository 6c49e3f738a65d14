package slackfake

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// window is what conversations.history and conversations.replies share:
// the time window, the page size and cursor, and whether metadata is asked.
type window struct {
	withMeta, inclusive bool
	limit, skip         int
	oldest, latest      int64
}

// readWindow parses the window arguments as Slack does, with def as the
// default page size and most as its cap; a refusal is Slack's error code.
func readWindow(f url.Values, def, most int) (window, string) {
	yes := func(k string) bool { return f.Get(k) == "1" || f.Get(k) == "true" }
	wd := window{withMeta: yes("include_all_metadata"), inclusive: yes("inclusive"), limit: def}
	if v := f.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return wd, "invalid_limit"
		}
		wd.limit = min(n, most)
	}
	wd.oldest, wd.latest = tsValue(f.Get("oldest")), tsValue(f.Get("latest"))
	if wd.oldest < 0 || wd.latest < 0 {
		return wd, "invalid_ts_oldest"
	}
	if c := f.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "page:"))
		if err != nil || !strings.HasPrefix(c, "page:") || n < 0 {
			return wd, "invalid_cursor"
		}
		wd.skip = n
	}
	return wd, ""
}

// holds reports whether a message's ts lies in the window.
func (wd window) holds(ts string) bool {
	v := tsValue(ts)
	return !((wd.oldest > 0 && (v < wd.oldest || (v == wd.oldest && !wd.inclusive))) || (wd.latest > 0 && (v > wd.latest || (v == wd.latest && !wd.inclusive))))
}

// message is a message as the history methods return it.
func (wd window) message(m *Message, extra map[string]any) map[string]any {
	msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
	for k, v := range extra {
		msg[k] = v
	}
	if wd.withMeta && m.Metadata != nil {
		msg["metadata"] = m.Metadata
	}
	return msg
}

// writePage answers with the page of all the cursor points at.
func (wd window) writePage(w http.ResponseWriter, all []map[string]any) {
	out := all[min(wd.skip, len(all)):]
	more := len(out) > wd.limit
	next := ""
	if more {
		out = out[:wd.limit]
		next = "page:" + strconv.Itoa(wd.skip+wd.limit)
	}
	if out == nil {
		out = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "messages": out, "has_more": more, "response_metadata": map[string]any{"next_cursor": next}})
}
