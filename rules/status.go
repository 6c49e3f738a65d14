package rules

import (
	"maps"
	"sort"
	"time"
)

// Signal is a signal's latest value against its rule.
type Signal struct {
	Metric string    `json:"metric"`
	Target string    `json:"target,omitempty"`
	Value  float64   `json:"value"`
	At     time.Time `json:"at"`
	Unit   string    `json:"unit,omitempty"`
	Title  string    `json:"title,omitempty"`
	// Rule judging this signal, if any, with its bounds.
	Rule   string  `json:"rule,omitempty"`
	Alert  float64 `json:"alert,omitempty"`
	Normal float64 `json:"normal,omitempty"`
	Below  bool    `json:"below,omitempty"`
	// State: ok (inside the normal range), elevated (between normal and
	// alert, or beyond alert while a guard holds it back), pending, firing;
	// "" when no rule judges it.
	State string `json:"state,omitempty"`
}

// Status is the engine's view for the monitor verb.
type Status struct {
	At      time.Time `json:"at"`
	Signals []Signal  `json:"signals"`
	Alerts  []Active  `json:"alerts"`
	Checks  []Check   `json:"checks"`
}

var titles = map[string]struct{ title, unit string }{
	MetricRequests:    {"requests per window", ""},
	MetricLLMCalls:    {"LLM API calls per window", ""},
	MetricLoginFailed: {"failed logins per security window", ""},
	MetricUnparsed:    {"unparsed log lines per window", ""},
	MetricHealthMS:    {"health latency", "ms"},
	MetricHealthUp:    {"health up", ""},
}

// Status returns the latest value of every signal, the pending and firing
// alerts, and each source's and rule's health. target, when not "", keeps
// that target's signals and alerts and the host's.
func (e *Engine) Status(target string) Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.active == nil {
		e.active, e.latest, e.ruleCheck = map[string]*Active{}, nil, map[string]*Check{}
	}
	st := Status{At: e.lastEval}
	ruleOf := map[string]Rule{}
	for _, r := range e.Rules {
		ruleOf[r.Metric] = r
	}
	for k, s := range e.latest {
		if target != "" && k.target != "" && k.target != target {
			continue
		}
		sig := Signal{Metric: k.metric, Target: k.target, Value: s.Value, At: s.At.Time}
		if r, ok := ruleOf[k.metric]; ok {
			sig.Rule, sig.Alert, sig.Normal, sig.Below, sig.Unit, sig.Title = r.Name, r.Alert, r.Normal, r.Below, r.Unit, r.Title
			switch {
			case e.active[Fingerprint(r.Name, k.target, nil)] != nil:
				sig.State = e.active[Fingerprint(r.Name, k.target, nil)].State
			case r.normal(s.Value):
				sig.State = "ok"
			default:
				sig.State = "elevated"
			}
		} else if t, ok := titles[k.metric]; ok {
			sig.Title, sig.Unit = t.title, t.unit
		}
		st.Signals = append(st.Signals, sig)
	}
	sort.Slice(st.Signals, func(i, j int) bool {
		a, b := st.Signals[i], st.Signals[j]
		if a.Target != b.Target {
			return a.Target < b.Target
		}
		return a.Metric < b.Metric
	})
	for _, a := range e.sortedActive() {
		if target != "" && a.Target != "" && a.Target != target {
			continue
		}
		c := *a
		c.Labels = maps.Clone(a.Labels)
		st.Alerts = append(st.Alerts, c)
	}
	for _, r := range e.sources {
		st.Checks = append(st.Checks, r.check)
	}
	for _, r := range e.Rules {
		if c := e.ruleCheck[r.Name]; c != nil {
			st.Checks = append(st.Checks, *c)
		}
	}
	return st
}
