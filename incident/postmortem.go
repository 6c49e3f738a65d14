package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Measures of the post-mortem: each is the time from opening until the
// incident moved past a stage, against the seed's target for that stage.
var measures = []struct {
	name  string
	stage Stage
}{
	{"time to detect", Discovery},
	{"time to assess", Assessment},
	{"time to handle", Handling},
	{"time to recover", Recovery},
}

// RenderPostMortem renders the post-mortem draft of an incident as Markdown from
// its timeline (oldest first). now is the moment of writing; times are
// shown in UTC.
func RenderPostMortem(inc Incident, tl []Entry, now time.Time) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	day := inc.OpenedAt.UTC().Format("2006-01-02")
	clock := func(t time.Time) string {
		u := t.UTC()
		if u.Format("2006-01-02") == day {
			return u.Format("15:04:05")
		}
		return u.Format("Jan 2 15:04:05")
	}
	full := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

	w("# Post-mortem: incident #%d — %s\n\n", inc.ID, inline(inc.Title))
	w("_Draft written by opsbot on %s from the incident timeline. Root cause and prevention are for the team to write._\n\n", full(now))

	w("## Summary\n\n")
	w("| | |\n|---|---|\n")
	w("| Severity | %s |\n", cell(inc.Severity))
	w("| Target | %s |\n", cell(orDash(inc.Target, "every target")))
	w("| Lead | %s |\n", cell(orDash(LeadName(inc.Lead), "nobody")))
	w("| Opened | %s by %s |\n", full(inc.OpenedAt), cell(inc.OpenedBy))
	w("| Stage now | %s |\n", inc.Stage)
	if !inc.ClosedAt.IsZero() {
		w("| Closed | %s |\n", full(inc.ClosedAt))
	}
	w("| Duration | %s |\n\n", FormatDuration(inc.Elapsed(now)))

	w("## Impact window\n\n")
	start, startWhy := inc.OpenedAt, "the incident was opened"
	for _, e := range tl {
		if e.Kind == KindAlert && e.Status != "resolved" && e.At.Before(start) {
			start, startWhy = e.At, "the first alert fired"
		}
	}
	if end, ok := Passed(inc, tl, Recovery); ok {
		w("From %s (%s) to %s (recovery ended): %s.\n\n", full(start), startWhy, full(end), FormatDuration(end.Sub(start)))
	} else {
		w("From %s (%s); not over yet (%s so far).\n\n", full(start), startWhy, FormatDuration(now.Sub(start)))
	}

	w("## Response times\n\n")
	w("| measure | took | target | result |\n|---|---|---|---|\n")
	for _, m := range measures {
		target := m.stage.Target()
		at, ok := Passed(inc, tl, m.stage)
		if !ok {
			w("| %s | not yet | %s | — |\n", m.name, FormatDuration(target))
			continue
		}
		took := at.Sub(inc.OpenedAt)
		w("| %s | %s | %s | %s |\n", m.name, FormatDuration(took), FormatDuration(target), verdict(took, target))
	}
	w("\n")

	w("## Stages\n\n")
	w("| stage | entered | time spent | guide's window | result |\n|---|---|---|---|---|\n")
	for _, sp := range Spans(inc, tl, now) {
		start, end := sp.Stage.Window()
		spent := sp.End.Sub(sp.Start)
		res := verdict(spent, end-start)
		if sp.Open {
			res = "ongoing"
		}
		w("| %s | %s | %s | %s | %s |\n", sp.Stage, clock(sp.Start), FormatDuration(spent), sp.Stage.WindowText(), res)
	}
	w("\n")

	w("## Timeline\n\n")
	w("| time (UTC) | who | what |\n|---|---|---|\n")
	for _, e := range tl {
		w("| %s | %s | %s |\n", clock(e.At), cell(e.Actor), cell(entryText(e)))
	}
	w("\n")

	w("## Actions taken\n\n")
	n := 0
	for _, e := range tl {
		if e.Kind != KindCommand && e.Kind != KindAction {
			continue
		}
		n++
		how := "by " + inline(e.Actor)
		if e.Kind == KindAction {
			how = "automatic, " + how
		}
		w("- %s — %s (%s)\n", clock(e.At), inline(e.Text), how)
	}
	if n == 0 {
		w("_None recorded._\n")
	}
	w("\n")

	w("## Alerts involved\n\n")
	writeAlerts(w, tl, clock)
	w("\n")

	w("## Root cause\n\n_To be written: what failed, and why it was not caught earlier._\n\n")
	w("## Prevention\n\n_To be written: the after-action items._\n\n")
	w("- [ ] Root cause found and written down\n")
	w("- [ ] Prevention decided (code, capacity, monitoring, alert thresholds)\n")
	w("- [ ] Runbook updated\n")
	return b.String()
}

func writeAlerts(w func(string, ...any), tl []Entry, clock func(time.Time) string) {
	type alert struct {
		text            string
		fired, resolved time.Time
		times           int
	}
	byRef := map[string]*alert{}
	var order []string
	for _, e := range tl {
		if e.Kind != KindAlert {
			continue
		}
		ref := e.Ref
		if ref == "" {
			ref = e.Text
		}
		a := byRef[ref]
		if a == nil {
			a = &alert{text: e.Text}
			byRef[ref] = a
			order = append(order, ref)
		}
		if e.Status == "resolved" {
			a.resolved = e.At
		} else {
			a.times++
			if a.fired.IsZero() {
				a.fired = e.At
			}
		}
	}
	if len(order) == 0 {
		w("_None._\n")
		return
	}
	sort.SliceStable(order, func(i, j int) bool { return byRef[order[i]].fired.Before(byRef[order[j]].fired) })
	for _, ref := range order {
		a := byRef[ref]
		var when []string
		switch {
		case a.times > 1:
			when = append(when, fmt.Sprintf("fired %d times, first %s", a.times, clock(a.fired)))
		case !a.fired.IsZero():
			when = append(when, "fired "+clock(a.fired))
		}
		if !a.resolved.IsZero() {
			when = append(when, "resolved "+clock(a.resolved))
		} else {
			when = append(when, "not resolved")
		}
		w("- %s (%s)\n", inline(a.text), strings.Join(when, ", "))
	}
}

func verdict(took, target time.Duration) string {
	if took <= target {
		return "within target"
	}
	return "over by " + FormatDuration(took-target)
}

func entryText(e Entry) string {
	switch e.Kind {
	case KindNote:
		return "note: " + e.Text
	case KindCommand:
		return "ran " + e.Text
	case KindAction:
		return "automatic action: " + e.Text
	case KindAlert:
		return "alert " + e.Status + ": " + e.Text
	case KindReminder:
		return "reminder: " + e.Text
	}
	return e.Text
}

func orDash(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// inline keeps text on one line.
func inline(s string) string { return strings.Join(strings.Fields(s), " ") }

// cell keeps text on one line and out of the table's syntax.
func cell(s string) string { return strings.ReplaceAll(inline(s), "|", `\|`) }
