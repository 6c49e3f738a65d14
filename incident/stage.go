// Package incident is the pure model of an incident: the seed's stages and
// their target times, the one transition function, timeline entries and the
// post-mortem draft. It does no I/O and imports nothing of opsbot.
package incident

import (
	"errors"
	"fmt"
	"opsbot/locale"
	"strings"
	"time"
)

// Stage is where an incident stands. The order is the seed's response
// order; a larger stage is later.
type Stage int

// The seed's five stages, then closed.
const (
	Discovery Stage = iota + 1
	Assessment
	Handling
	Recovery
	PostMortem
	Closed
)

// Stages lists every stage in order.
var Stages = []Stage{Discovery, Assessment, Handling, Recovery, PostMortem, Closed}

var stageNames = [...]string{"", "discovery", "assessment", "handling", "recovery", "post-mortem", "closed"}

// String is the stage's name as users type it.
func (s Stage) String() string {
	if !s.Valid() {
		return fmt.Sprintf("stage(%d)", int(s))
	}
	return stageNames[s]
}

// Valid reports whether s is one of the stages.
func (s Stage) Valid() bool { return s >= Discovery && s <= Closed }

// StageNames are the stage names in order, for choice lists.
func StageNames() []string {
	out := make([]string, len(Stages))
	for i, s := range Stages {
		out[i] = s.String()
	}
	return out
}

// ParseStage reads a stage name ("post-mortem" may be written
// "postmortem"), or its name in the Chinese guide (故障处理, 事后分析 …).
func ParseStage(name string) (Stage, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if c, ok := locale.Stage(n); ok {
		n = c
	}
	if n == "postmortem" || n == "post_mortem" {
		n = "post-mortem"
	}
	for _, s := range Stages {
		if s.String() == n {
			return s, nil
		}
	}
	return 0, &Refusal{Err: ErrUnknownStage, Msg: fmt.Sprintf("unknown stage %q; stages are %s", name, strings.Join(StageNames(), ", "))}
}

// Window is the stage's span on the incident clock, from the seed:
// discovery 0–5 min, assessment 5–10, handling 10–30, recovery 30–60,
// post-mortem within 24 h. Closed has no window.
func (s Stage) Window() (start, end time.Duration) {
	switch s {
	case Discovery:
		return 0, 5 * time.Minute
	case Assessment:
		return 5 * time.Minute, 10 * time.Minute
	case Handling:
		return 10 * time.Minute, 30 * time.Minute
	case Recovery:
		return 30 * time.Minute, 60 * time.Minute
	case PostMortem:
		return 60 * time.Minute, 24 * time.Hour
	}
	return 0, 0
}

// Target is the time on the incident clock by which the stage should be
// over; zero for closed.
func (s Stage) Target() time.Duration { _, end := s.Window(); return end }

// WindowText describes the stage's window for people: "10–30 min".
func (s Stage) WindowText() string {
	start, end := s.Window()
	switch {
	case s == Closed || !s.Valid():
		return ""
	case s == PostMortem:
		return "within 24 h"
	}
	return fmt.Sprintf("%d–%d min", int(start.Minutes()), int(end.Minutes()))
}

// Sentinels behind refusals, for errors.Is.
var (
	ErrUnknownStage = errors.New("unknown stage")
	ErrSameStage    = errors.New("already in that stage")
	ErrBackwards    = errors.New("stage moves backwards")
	ErrClosed       = errors.New("incident closed")
	ErrNotBack      = errors.New("reopen must move back")
	ErrBadInput     = errors.New("bad input")
	ErrNotFound     = errors.New("no such incident")
)

// Refusal is bad input: its message is shown to the user as it is and
// nothing was changed.
type Refusal struct {
	Msg string
	Err error
}

func (r *Refusal) Error() string { return r.Msg }
func (r *Refusal) Unwrap() error { return r.Err }

// Refusef makes a refusal wrapping the sentinel err.
func Refusef(err error, format string, args ...any) error {
	return &Refusal{Err: err, Msg: fmt.Sprintf(format, args...)}
}

// AsRefusal returns the refusal inside err, if any.
func AsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

// Transition is the one rule of stage changes: forward by one step or more
// at any time; back only by an explicit reopen, which must go back and
// never to closed.
func Transition(from, to Stage, reopen bool) error {
	if !to.Valid() {
		return Refusef(ErrUnknownStage, "unknown stage %s; stages are %s", to, strings.Join(StageNames(), ", "))
	}
	if !from.Valid() {
		return fmt.Errorf("transition: incident is in an unknown stage %d", int(from))
	}
	if reopen {
		if to == Closed || to >= from {
			return Refusef(ErrNotBack, "reopen moves back to an earlier stage; %s is not before %s", to, from)
		}
		return nil
	}
	switch {
	case to == from:
		return Refusef(ErrSameStage, "already in %s", to)
	case from == Closed:
		return Refusef(ErrClosed, "the incident is closed; reopen it first")
	case to < from:
		return Refusef(ErrBackwards, "stages only move forward (%s → %s); use reopen to go back", from, to)
	}
	return nil
}
