// Package diagnose holds the read-only `diagnose [target|symptom]` verb and
// the Diagnose button on alert messages: the runbooks of ops/diagnose run
// from chat, the answer ranked by score with the next verb to run.
package diagnose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/human"
	"opsbot/ops/diagnose"
	"opsbot/policy"
	"opsbot/store"
)

// Action is the Diagnose button's id (and the verb a click stands for).
const Action = "diagnose"

// Alerts is what the verb reads of alert state (the notifier).
type Alerts interface {
	Firing(ctx context.Context, limit int) ([]store.AlertRow, error)
	Alert(ctx context.Context, id int64) (store.AlertRow, error)
}

// Deps are what the verb and the button need.
type Deps struct {
	Config    func() *config.Config
	Diagnoser *diagnose.Diagnoser
	Alerts    Alerts
	// SymptomOf maps an alert to its diagnosis (the rule's definition).
	SymptomOf func(rule, kind string, labels map[string]string) (symptom, runbook string)
	// Reply posts in the thread of an owner's messages ("alert:<fingerprint>").
	Reply func(ctx context.Context, owner string, m chat.Message) error
	// Timeline records a line in the open incident of a target, if any.
	Timeline func(ctx context.Context, target, actor, text string)
	// Redactor cleans what goes to the thread, which is not a reply and so
	// not cleaned by the registry (nil: the built-in rules).
	Redactor func() *chat.Redactor
}

// User-visible words, in one place (a later catalog translates them).
const (
	msgUsage        = "say what to diagnose: one of %s, or a target (%s); alone, it diagnoses the firing alerts"
	msgNoFiring     = "no alert is firing: name a symptom (%s)"
	msgTitle        = "Diagnosis: %s on %s"
	msgNothing      = "Nothing found that explains %s."
	msgAlsoFine     = "Looked fine: "
	msgTook         = "%d checks in %s · read-only"
	msgPosted       = "Diagnosis of alert #%d (%s) posted in the alert's thread."
	msgProgress     = "diagnosing %s: %d of %d checks done"
	msgTimeline     = "diagnose %s: %s"
	msgFromAlerts   = "Chosen from the firing alerts: %s."
	msgUnknownAlert = "no alert #%d"
)

// Verbs returns the diagnose verb.
func Verbs(d Deps) []*commands.Verb {
	return []*commands.Verb{{
		Name:    "diagnose",
		Access:  policy.Read,
		Summary: "run the runbook's checks for a symptom and rank what they find",
		Usage:   "diagnose [symptom] [target]",
		Params: []commands.Param{
			{Name: "what", Help: "a symptom (" + strings.Join(diagnose.Symptoms, ", ") + ") or a target"},
			{Name: "target", Help: "target name, when the first word is a symptom"},
		},
		Examples: []string{"/ops diagnose", "/ops diagnose api-down", "/ops diagnose db api-1"},
		Slow:     true,
		Target: func(c *commands.Call) string {
			_, t, _ := parseArgs(d.Config(), c.Arg(0), c.Arg(1))
			return t
		},
		Check: func(ctx context.Context, c *commands.Call) error {
			_, _, err := parseArgs(d.Config(), c.Arg(0), c.Arg(1))
			return err
		},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			cfg := d.Config()
			symptom, target, err := parseArgs(cfg, c.Arg(0), c.Arg(1))
			if err != nil {
				return commands.Response{}, err
			}
			note := ""
			if symptom == "" {
				var from []string
				symptom, target, from, err = fromFiring(ctx, d, target)
				if err != nil {
					return commands.Response{}, err
				}
				note = fmt.Sprintf(msgFromAlerts, strings.Join(from, ", "))
			}
			start := time.Now()
			rep, err := d.Diagnoser.Run(ctx, symptom, target, func(done, total int, check string) {
				if time.Since(start) > time.Second {
					c.Progress(msgProgress, symptom, done, total)
				}
			})
			if err != nil {
				return commands.Response{}, userErr(err)
			}
			m := Render(rep)
			if note != "" {
				m.Context = note + " · " + m.Context
			}
			return commands.Response{Message: m}, nil
		},
	}}
}

func userErr(err error) error {
	if errors.Is(err, diagnose.ErrUnknownSymptom) || errors.Is(err, diagnose.ErrUnknownTarget) {
		return commands.Errorf("%v", err)
	}
	return err
}

// parseArgs reads "[symptom] [target]" in either order; symptom "" means
// "from the firing alerts".
func parseArgs(cfg *config.Config, a, b string) (symptom, target string, err error) {
	for _, w := range []string{a, b} {
		if w == "" {
			continue
		}
		w = strings.ToLower(w)
		switch {
		case diagnose.Known(w) && symptom == "":
			symptom = w
		case target == "":
			if _, ok := cfg.Target(w); !ok {
				return "", "", commands.Errorf(msgUsage, strings.Join(diagnose.Symptoms, ", "), orNone(cfg.TargetNames()))
			}
			target = w
		default:
			return "", "", commands.Errorf(msgUsage, strings.Join(diagnose.Symptoms, ", "), orNone(cfg.TargetNames()))
		}
	}
	return symptom, target, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none configured"
	}
	return strings.Join(names, ", ")
}

// fromFiring picks the symptom of the firing alerts (of target, when
// named): the one most of the critical, then of all, alerts map to.
func fromFiring(ctx context.Context, d Deps, target string) (symptom, tgt string, from []string, err error) {
	rows, err := d.Alerts.Firing(ctx, 200)
	if err != nil {
		return "", "", nil, err
	}
	type tally struct {
		crit, all int
		target    string
		first     int
	}
	score := map[string]*tally{}
	for i, r := range rows {
		if target != "" && r.Target != target {
			continue
		}
		s, _ := d.SymptomOf(r.Rule, r.Kind, labelsOf(r))
		if !diagnose.Known(s) {
			continue
		}
		t := score[s]
		if t == nil {
			t = &tally{target: r.Target, first: i}
			score[s] = t
		}
		t.all++
		if r.Severity == "critical" {
			t.crit++
		}
		from = append(from, fmt.Sprintf("#%d %s", r.ID, r.Rule))
	}
	if len(score) == 0 {
		return "", "", nil, commands.Errorf(msgNoFiring, strings.Join(diagnose.Symptoms, ", "))
	}
	best := ""
	for _, s := range diagnose.Symptoms {
		t := score[s]
		if t == nil {
			continue
		}
		if b := score[best]; best == "" || t.crit > b.crit || (t.crit == b.crit && t.all > b.all) {
			best = s
		}
	}
	tgt = target
	if tgt == "" {
		tgt = score[best].target
	}
	if len(from) > 5 {
		from = append(from[:5], fmt.Sprintf("+%d", len(from)-5))
	}
	return best, tgt, from, nil
}

func labelsOf(r store.AlertRow) map[string]string {
	var m map[string]string
	if r.Labels != "" {
		_ = json.Unmarshal([]byte(r.Labels), &m)
	}
	return m
}

// Buttons returns the Diagnose button's handler.
func Buttons(d Deps) map[string]commands.ButtonHandler {
	return map[string]commands.ButtonHandler{Action: func(ctx context.Context, req commands.Request, value string) (commands.Response, error) {
		id, err := strconv.ParseInt(value, 10, 64)
		if err != nil || id <= 0 {
			return commands.Response{}, commands.Errorf("bad diagnose value %q", value)
		}
		a, err := d.Alerts.Alert(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return commands.Response{}, commands.Errorf(msgUnknownAlert, id)
		}
		if err != nil {
			return commands.Response{}, err
		}
		symptom, _ := d.SymptomOf(a.Rule, a.Kind, labelsOf(a))
		target := a.Target
		if _, ok := d.Config().Target(target); !ok {
			target = "" // a host-wide alert: the first target's view
		}
		rep, err := d.Diagnoser.Run(ctx, symptom, target, nil)
		if err != nil {
			return commands.Response{}, userErr(err)
		}
		m := Render(rep)
		m.Context = fmt.Sprintf("alert #%d · ", a.ID) + m.Context
		var red *chat.Redactor
		if d.Redactor != nil {
			red = d.Redactor()
		}
		// Evidence quotes logs: secrets are taken out before it is posted.
		m = red.Message(m)
		if err := d.Reply(ctx, "alert:"+a.Fingerprint, m); err != nil {
			return commands.Response{}, err
		}
		if d.Timeline != nil {
			d.Timeline(ctx, a.Target, req.Principal(), fmt.Sprintf(msgTimeline, symptom, headline(rep)))
		}
		// The alert's own message stays as it is; the clicker is told where to look.
		return commands.Response{Message: chat.Message{Text: fmt.Sprintf(msgPosted, a.ID, symptom)}, Ephemeral: true}, nil
	}}
}

func headline(rep diagnose.Report) string {
	top := rep.Top()
	if top.Title == "" || top.OK() {
		return fmt.Sprintf(msgNothing, rep.Symptom)
	}
	s := fmt.Sprintf("[%.0f] %s", top.Score, top.Title)
	if top.Next != "" {
		s += " → " + top.Next
	}
	return s
}

// Render words a report: the notable findings ranked, each with its
// evidence and next step, then what looked fine in one line.
func Render(rep diagnose.Report) chat.Message {
	where := rep.Target
	if where == "" {
		where = "the host"
	}
	m := chat.Message{Title: fmt.Sprintf(msgTitle, rep.Symptom, where)}
	var b strings.Builder
	var fine []string
	n := 0
	top := 0.0
	for _, f := range rep.Findings {
		if f.OK() {
			fine = append(fine, f.Title)
			continue
		}
		top = max(top, f.Score)
		n++
		fmt.Fprintf(&b, "%d. [%.0f] %s\n", n, f.Score, f.Title)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "   · %s\n", e)
		}
		if f.Next != "" {
			fmt.Fprintf(&b, "   → %s\n", f.Next)
		}
	}
	if n == 0 {
		b.WriteString(fmt.Sprintf(msgNothing, rep.Symptom) + "\n")
	}
	if len(fine) > 0 {
		b.WriteString(msgAlsoFine + strings.Join(fine, "; "))
	}
	m.Text = strings.TrimRight(b.String(), "\n")
	switch {
	case top >= 60:
		m.Severity = chat.SevCritical
	case top >= diagnose.ScoreNotable:
		m.Severity = chat.SevWarning
	default:
		m.Severity = chat.SevOK
	}
	m.Context = fmt.Sprintf(msgTook, rep.Checks, human.Duration(rep.Took))
	return m
}
