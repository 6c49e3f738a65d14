package notifier

import (
	"encoding/json"
	"strconv"
	"strings"

	"opsbot/chat"
	"opsbot/store"
)

// SymptomFunc says which diagnosis explains an alert and where its
// runbook is (the rule's definition decides).
type SymptomFunc func(rule, kind string, labels map[string]string) (symptom, runbook string)

// SetDiagnose puts a button with action id on every firing alert's message
// (a single alert's), which runs the alert's diagnosis, and the alert's
// runbook in the message's context. Set before Run.
func (n *Notifier) SetDiagnose(action string, f SymptomFunc) {
	n.diagAction, n.symptomOf = action, f
}

// decorate adds the Diagnose button and the runbook link to a message
// about one alert.
func (n *Notifier) decorate(m *chat.Message, a store.AlertRow) {
	if n.symptomOf == nil || a.State == store.AlertResolved {
		return
	}
	var labels map[string]string
	if a.Labels != "" {
		_ = json.Unmarshal([]byte(a.Labels), &labels)
	}
	symptom, runbook := n.symptomOf(a.Rule, a.Kind, labels)
	if symptom != "" && n.diagAction != "" {
		m.Buttons = append(m.Buttons, chat.Button{ID: n.diagAction, Label: "Diagnose", Value: strconv.FormatInt(a.ID, 10)})
	}
	if runbook != "" {
		if base := n.cfg().Diagnose.RunbookBase; base != "" && !strings.Contains(runbook, "://") {
			runbook = strings.TrimRight(base, "/") + "/" + strings.TrimLeft(runbook, "/")
		}
		m.Context = strings.TrimPrefix(m.Context+" · runbook "+runbook, " · ")
	}
}

// maxDetail is what a message shows of an alert's detail.
const maxDetail = 300

// amLinks keeps an Alertmanager alert's runbook_url annotation and
// generatorURL (the expression's graph) as links on its message. Only
// http(s) URLs are kept; a link that would be cut short is left out.
func amLinks(runbook, generator string) string {
	var parts []string
	for _, l := range []struct{ name, url string }{{"runbook", runbook}, {"source", generator}} {
		if !strings.HasPrefix(l.url, "https://") && !strings.HasPrefix(l.url, "http://") {
			continue
		}
		if strings.ContainsAny(l.url, " \n<>|") {
			continue
		}
		p := l.name + " " + l.url
		if len(strings.Join(append(parts, p), " · ")) > maxDetail {
			continue
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " · ")
}
