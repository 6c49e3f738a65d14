package discordfake

import (
	"net/http"
	"slices"
	"strconv"
)

// history serves GET /channels/{id}/messages: limit (1–100, default 50),
// and one of before, after or around; newest first, as Discord answers.
func (s *Server) history(w http.ResponseWriter, r *http.Request, channel string) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			writeJSON(w, 400, formError("limit", "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.").body)
			return
		}
		limit = n
	}
	set := 0
	for _, k := range []string{"before", "after", "around"} {
		if q.Get(k) != "" {
			set++
		}
	}
	if set > 1 {
		writeJSON(w, 400, formError("around", "BASE_TYPE_BAD_COMBINATION", "Only one of around, before and after may be given.").body)
		return
	}
	num := func(k string) (uint64, bool) {
		v := q.Get(k)
		if v == "" {
			return 0, true
		}
		n, err := strconv.ParseUint(v, 10, 64)
		return n, err == nil
	}
	before, ok1 := num("before")
	after, ok2 := num("after")
	if !ok1 || !ok2 {
		writeJSON(w, 400, formError("before", "NUMBER_TYPE_COERCE", "Value is not snowflake.").body)
		return
	}
	s.mu.Lock()
	var all []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.ChannelID == channel && !m.Deleted {
			all = append(all, copyMsg(m))
		}
	}
	s.mu.Unlock()
	idOf := func(m Message) uint64 { n, _ := strconv.ParseUint(m.ID, 10, 64); return n }
	slices.SortFunc(all, func(a, b Message) int {
		switch x, y := idOf(a), idOf(b); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	var page []Message
	switch {
	case after > 0:
		// The limit messages right after the id.
		for _, m := range all {
			if idOf(m) > after && len(page) < limit {
				page = append(page, m)
			}
		}
	default:
		for i := len(all) - 1; i >= 0 && len(page) < limit; i-- {
			if before == 0 || idOf(all[i]) < before {
				page = append([]Message{all[i]}, page...)
			}
		}
	}
	slices.Reverse(page)
	if page == nil {
		page = []Message{}
	}
	writeJSON(w, 200, page)
}
