package incident

import "time"

// Kind of a timeline entry.
type Kind string

// Kinds of timeline entries. Opened, stage and reopened entries carry the
// stage entered.
const (
	KindOpened     Kind = "opened"
	KindStage      Kind = "stage"
	KindReopened   Kind = "reopened"
	KindNote       Kind = "note"
	KindLead       Kind = "lead"
	KindSeverity   Kind = "severity"
	KindAttach     Kind = "attach"
	KindAlert      Kind = "alert"
	KindCommand    Kind = "command"
	KindAction     Kind = "action"
	KindReminder   Kind = "reminder"
	KindPostMortem Kind = "postmortem"
)

// Entry is one event of an incident's timeline.
type Entry struct {
	ID    int64
	At    time.Time
	Actor string
	Kind  Kind
	// Stage is the stage entered, for opened, stage and reopened entries.
	Stage Stage
	// Ref ties entries of one source together: an alert's fingerprint.
	Ref string
	// Status is an alert's status (firing, resolved) or a command's result.
	Status string
	Text   string
}

// Span is a stretch of time spent in one stage.
type Span struct {
	Stage      Stage
	Start, End time.Time
	Open       bool // the incident is still in this stage
}

// Spans returns the stretches spent in each stage, in order, from the
// stage entries of a timeline (oldest first). Closed has no span.
func Spans(inc Incident, tl []Entry, now time.Time) []Span {
	var marks []Entry
	for _, e := range tl {
		if e.Stage.Valid() {
			marks = append(marks, e)
		}
	}
	if len(marks) == 0 || marks[0].Kind != KindOpened {
		marks = append([]Entry{{At: inc.OpenedAt, Kind: KindOpened, Stage: Discovery}}, marks...)
	}
	var out []Span
	for i, m := range marks {
		if m.Stage == Closed {
			continue
		}
		sp := Span{Stage: m.Stage, Start: m.At}
		if i+1 < len(marks) {
			sp.End = marks[i+1].At
		} else {
			sp.End, sp.Open = now, true
		}
		out = append(out, sp)
	}
	return out
}

// Passed returns when the incident last moved past stage s (into a later
// stage), measured on its timeline; false when it has not (or a reopen
// took it back).
func Passed(inc Incident, tl []Entry, s Stage) (time.Time, bool) {
	cur := Discovery
	var at time.Time
	passed := false
	for _, e := range tl {
		if !e.Stage.Valid() {
			continue
		}
		if e.Kind == KindOpened {
			cur = e.Stage
			continue
		}
		if cur <= s && e.Stage > s {
			at, passed = e.At, true
		} else if e.Stage <= s {
			passed = false
		}
		cur = e.Stage
	}
	return at, passed
}
