package paging_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"opsbot/paging"
)

// pdReceiver is a local stand-in of PagerDuty's Events API v2: POST
// /v2/enqueue, 202 with the dedup key for a good event, and 400 with
// PagerDuty's "invalid event" body for what PagerDuty refuses (no
// routing_key, a routing key of the wrong length, an unknown event_action,
// a trigger without summary, source or a known severity).
type pdReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	evs []pdEvent
	// fail, when set, answers instead (status code); 0 lets the event in.
	fail func(n int) int
	n    int
	// PagerDuty deduplicates by dedup_key: a trigger for a key whose
	// incident is open (triggered or acknowledged) adds no incident.
	status  map[string]string // dedup key → triggered | acknowledged | resolved
	opened  int               // incidents opened
	deduped int               // triggers folded into an open incident
	// accepted, when set, runs after an event is taken and before the
	// answer is written (a test kills the sender there).
	accepted func(req *http.Request)
}

type pdEvent struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Payload     *struct {
		Summary  string `json:"summary"`
		Source   string `json:"source"`
		Severity string `json:"severity"`
	} `json:"payload"`
	Links []struct {
		Href string `json:"href"`
	} `json:"links"`
}

func newPD(t testing.TB) *pdReceiver {
	r := &pdReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func invalid(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "invalid event", "message": "Event object is invalid", "errors": []string{msg}})
}

func (r *pdReceiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v2/enqueue" {
		http.NotFound(w, req)
		return
	}
	r.mu.Lock()
	r.n++
	n := r.n
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		if code := fail(n); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	body, _ := io.ReadAll(req.Body)
	var ev pdEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		invalid(w, "Event object is not valid JSON")
		return
	}
	switch {
	case ev.RoutingKey == "":
		invalid(w, "'routing_key' is missing.")
		return
	case len(ev.RoutingKey) != 32:
		invalid(w, "Length of 'routing_key' is incorrect (should be 32 characters)")
		return
	case !slices.Contains([]string{"trigger", "acknowledge", "resolve"}, ev.EventAction):
		invalid(w, "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')")
		return
	case ev.EventAction != "trigger" && ev.DedupKey == "":
		invalid(w, "'dedup_key' is missing.")
		return
	case ev.EventAction == "trigger" && (ev.Payload == nil || ev.Payload.Summary == "" || ev.Payload.Source == ""):
		invalid(w, "'payload' is invalid or missing.")
		return
	case ev.EventAction == "trigger" && !slices.Contains([]string{"critical", "error", "warning", "info"}, ev.Payload.Severity):
		invalid(w, "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')")
		return
	}
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	if r.status == nil {
		r.status = map[string]string{}
	}
	switch cur := r.status[ev.DedupKey]; ev.EventAction {
	case "trigger":
		if cur == "triggered" || cur == "acknowledged" {
			r.deduped++
		} else {
			r.opened++
			r.status[ev.DedupKey] = "triggered"
		}
	case "acknowledge":
		if cur == "triggered" {
			r.status[ev.DedupKey] = "acknowledged"
		}
	case "resolve":
		if cur == "triggered" || cur == "acknowledged" {
			r.status[ev.DedupKey] = "resolved"
		}
	}
	accepted := r.accepted
	r.mu.Unlock()
	if accepted != nil {
		accepted(req)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "success", "message": "Event processed", "dedup_key": ev.DedupKey})
}

func (r *pdReceiver) events() []pdEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pdEvent(nil), r.evs...)
}

func (r *pdReceiver) actions() []string {
	var out []string
	for _, e := range r.events() {
		out = append(out, e.EventAction)
	}
	return out
}

// hookReceiver verifies X-Opsbot-Signature as a receiver should (key,
// timestamp within five minutes of its clock) and refuses an unsigned or
// forged call with 401.
type hookReceiver struct {
	srv  *httptest.Server
	key  string
	now  func() time.Time
	mu   sync.Mutex
	got  []paging.WebhookBody
	ids  map[string]int // delivery id → times received
	fail func(n int) int
	n    int
	bad  int // refused signatures
	// accepted, when set, runs after a call is taken and before the answer.
	accepted func(req *http.Request)
}

func newHook(t testing.TB, key string, now func() time.Time) *hookReceiver {
	r := &hookReceiver{key: key, now: now, ids: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := paging.VerifySignature(r.key, req.Header.Get("X-Opsbot-Timestamp"), req.Header.Get("X-Opsbot-Signature"), body, r.now(), 5*time.Minute); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	r.n++
	n, fail := r.n, r.fail
	r.mu.Unlock()
	if fail != nil {
		if code := fail(n); code != 0 {
			w.WriteHeader(code)
			return
		}
	}
	var b paging.WebhookBody
	if err := json.Unmarshal(body, &b); err != nil || b.Version != "1" || b.ID == "" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, b)
	r.ids[req.Header.Get("X-Opsbot-Delivery")]++
	accepted := r.accepted
	r.mu.Unlock()
	if accepted != nil {
		accepted(req)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *hookReceiver) bodies() []paging.WebhookBody {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]paging.WebhookBody(nil), r.got...)
}

// incidents is how many incidents PagerDuty opened and how many triggers it folded into one.
func (r *pdReceiver) incidents() (opened, deduped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opened, r.deduped
}

// deliveries is how many times each X-Opsbot-Delivery id arrived.
func (r *hookReceiver) deliveries() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.ids {
		out[k] = v
	}
	return out
}

func (r *pdReceiver) setAccepted(f func(*http.Request)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted = f
}

func (r *hookReceiver) setAccepted(f func(*http.Request)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accepted = f
}
