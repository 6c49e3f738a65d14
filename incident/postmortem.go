package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"opsbot/locale"
)

// Measures of the post-mortem: each is the time from opening until the
// incident moved past a stage, against the seed's target for that stage.
var measures = []struct {
	key   string
	stage Stage
}{
	{"pm.measure_detect", Discovery},
	{"pm.measure_assess", Assessment},
	{"pm.measure_handle", Handling},
	{"pm.measure_recover", Recovery},
}

// RenderPostMortem renders the post-mortem draft of an incident as Markdown from
// its timeline (oldest first), in English with times in UTC. now is the
// moment of writing.
func RenderPostMortem(inc Incident, tl []Entry, now time.Time) string {
	return RenderPostMortemIn(locale.Printer{}, inc, tl, now)
}

// RenderPostMortemIn is RenderPostMortem in p's language and time zone.
func RenderPostMortemIn(p locale.Printer, inc Incident, tl []Entry, now time.Time) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	line := func(key string, args ...locale.Args) { b.WriteString(p.T(key, args...)); b.WriteString("\n") }
	zone := p.Zone
	if zone == nil {
		zone = time.UTC
	}
	day := inc.OpenedAt.In(zone).Format("2006-01-02")
	clock := func(t time.Time) string {
		u := t.In(zone)
		if u.Format("2006-01-02") == day {
			return u.Format("15:04:05")
		}
		if p.Lang == locale.ZhCN {
			return u.Format("1月2日 15:04:05")
		}
		return u.Format("Jan 2 15:04:05")
	}
	full := func(t time.Time) string { return t.In(zone).Format("2006-01-02 15:04:05 MST") }
	dur := func(d time.Duration) string {
		if p.Lang == locale.ZhCN {
			return p.Duration(d)
		}
		return FormatDuration(d)
	}
	stage := func(s Stage) string { return p.StageName(s.String()) }
	window := func(s Stage) string {
		start, end := s.Window()
		switch {
		case s == Closed || !s.Valid():
			return ""
		case s == PostMortem:
			return p.T("incident.window_24h")
		}
		return p.T("incident.window", locale.Args{"From": int(start.Minutes()), "To": int(end.Minutes())})
	}
	verdict := func(took, target time.Duration) string {
		if took <= target {
			return p.T("pm.within")
		}
		return p.T("pm.over_by", locale.Args{"Dur": dur(took - target)})
	}

	line("pm.heading", locale.Args{"ID": inc.ID, "Title": inline(inc.Title)})
	w("\n")
	line("pm.draft_note", locale.Args{"At": full(now)})
	w("\n")

	line("pm.summary")
	w("\n| | |\n|---|---|\n")
	w("| %s | %s |\n", p.T("pm.severity"), cell(p.SeverityName(inc.Severity)))
	w("| %s | %s |\n", p.T("pm.target"), cell(orDash(inc.Target, p.T("pm.every_target"))))
	w("| %s | %s |\n", p.T("pm.lead"), cell(orDash(LeadName(inc.Lead), p.T("pm.nobody"))))
	w("| %s | %s |\n", p.T("pm.opened"), p.T("pm.opened_by", locale.Args{"At": full(inc.OpenedAt), "By": cell(inc.OpenedBy)}))
	w("| %s | %s |\n", p.T("pm.stage_now"), stage(inc.Stage))
	if !inc.ClosedAt.IsZero() {
		w("| %s | %s |\n", p.T("pm.closed"), full(inc.ClosedAt))
	}
	w("| %s | %s |\n\n", p.T("pm.duration"), dur(inc.Elapsed(now)))

	line("pm.impact")
	w("\n")
	start, startWhy := inc.OpenedAt, p.T("pm.start_opened")
	for _, e := range tl {
		if e.Kind == KindAlert && e.Status != "resolved" && e.At.Before(start) {
			start, startWhy = e.At, p.T("pm.start_alert")
		}
	}
	if end, ok := Passed(inc, tl, Recovery); ok {
		line("pm.impact_over", locale.Args{"Start": full(start), "Why": startWhy, "End": full(end), "Dur": dur(end.Sub(start))})
	} else {
		line("pm.impact_open", locale.Args{"Start": full(start), "Why": startWhy, "Dur": dur(now.Sub(start))})
	}
	w("\n")

	line("pm.response")
	w("\n")
	line("pm.response_head")
	w("|---|---|---|---|\n")
	for _, m := range measures {
		target := m.stage.Target()
		at, ok := Passed(inc, tl, m.stage)
		if !ok {
			w("| %s | %s | %s | — |\n", p.T(m.key), p.T("pm.not_yet"), dur(target))
			continue
		}
		took := at.Sub(inc.OpenedAt)
		w("| %s | %s | %s | %s |\n", p.T(m.key), dur(took), dur(target), verdict(took, target))
	}
	w("\n")

	line("pm.stages")
	w("\n")
	line("pm.stages_head")
	w("|---|---|---|---|---|\n")
	for _, sp := range Spans(inc, tl, now) {
		start, end := sp.Stage.Window()
		spent := sp.End.Sub(sp.Start)
		res := verdict(spent, end-start)
		if sp.Open {
			res = p.T("pm.ongoing")
		}
		w("| %s | %s | %s | %s | %s |\n", stage(sp.Stage), clock(sp.Start), dur(spent), window(sp.Stage), res)
	}
	w("\n")

	line("pm.timeline")
	w("\n")
	line("pm.timeline_head", locale.Args{"Zone": zoneName(zone, inc.OpenedAt)})
	w("|---|---|---|\n")
	for _, e := range tl {
		w("| %s | %s | %s |\n", clock(e.At), cell(e.Actor), cell(entryText(p, e)))
	}
	w("\n")

	line("pm.actions")
	w("\n")
	n := 0
	for _, e := range tl {
		if e.Kind != KindCommand && e.Kind != KindAction {
			continue
		}
		n++
		how := p.T("pm.by", locale.Args{"Who": inline(e.Actor)})
		if e.Kind == KindAction {
			how = p.T("pm.automatic_by", locale.Args{"Who": inline(e.Actor)})
		}
		w("- %s — %s (%s)\n", clock(e.At), inline(e.Text), how)
	}
	if n == 0 {
		line("pm.none_recorded")
	}
	w("\n")

	line("pm.alerts")
	w("\n")
	writeAlerts(p, w, tl, clock)
	w("\n")

	line("pm.root_cause")
	w("\n")
	line("pm.prevention")
	w("\n")
	line("pm.check_root")
	line("pm.check_prevention")
	line("pm.check_runbook")
	return b.String()
}

func zoneName(z *time.Location, at time.Time) string {
	n, _ := at.In(z).Zone()
	return n
}

func writeAlerts(p locale.Printer, w func(string, ...any), tl []Entry, clock func(time.Time) string) {
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
		w("%s\n", p.T("pm.none"))
		return
	}
	sort.SliceStable(order, func(i, j int) bool { return byRef[order[i]].fired.Before(byRef[order[j]].fired) })
	for _, ref := range order {
		a := byRef[ref]
		var when []string
		switch {
		case a.times > 1:
			when = append(when, p.T("pm.fired_times", locale.Args{"Count": a.times, "At": clock(a.fired)}))
		case !a.fired.IsZero():
			when = append(when, p.T("pm.fired_once", locale.Args{"At": clock(a.fired)}))
		}
		if !a.resolved.IsZero() {
			when = append(when, p.T("pm.resolved_at", locale.Args{"At": clock(a.resolved)}))
		} else {
			when = append(when, p.T("pm.not_resolved"))
		}
		sep := ", "
		if p.Lang == locale.ZhCN {
			sep = "，"
		}
		w("- %s (%s)\n", inline(a.text), strings.Join(when, sep))
	}
}

func entryText(p locale.Printer, e Entry) string {
	switch e.Kind {
	case KindNote:
		return p.T("pm.entry_note", locale.Args{"Text": e.Text})
	case KindCommand:
		return p.T("pm.entry_command", locale.Args{"Text": e.Text})
	case KindAction:
		return p.T("pm.entry_action", locale.Args{"Text": e.Text})
	case KindAlert:
		return p.T("pm.entry_alert", locale.Args{"Status": alertStatus(p, e.Status), "Text": e.Text})
	case KindReminder:
		return p.T("pm.entry_reminder", locale.Args{"Text": e.Text})
	case KindStage:
		// The stored text is English ("stage handling → recovery"); other
		// languages say the stage entered in their own words.
		if p.Lang != "" && p.Lang != locale.En && e.Stage.Valid() {
			return p.T("pm.entry_stage", locale.Args{"Stage": p.StageName(e.Stage.String())})
		}
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

// alertStatus is an alert entry's status for people ("firing", "触发").
func alertStatus(p locale.Printer, status string) string {
	switch status {
	case "firing", "resolved":
		return p.T("incident.alert_" + status)
	}
	return status
}
