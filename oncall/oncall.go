// Package oncall is the arithmetic of on-call rotations: which member's
// shift covers an instant, when the next handoff is, and how overrides
// (someone covering part of a shift) change that. It is pure: no clock, no
// store, no chat; the caller passes the instant and the overrides.
//
// A rotation whose length is a whole number of days hands off on the wall
// clock of its time zone ("09:00 Europe/Berlin" every Monday), so a shift
// across a daylight-saving change is an hour shorter or longer; any other
// length (12h) is counted in absolute time from the first handoff.
package oncall

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

const day = 24 * time.Hour

// Rotation is a list of members taking shifts in turn.
type Rotation struct {
	Name    string
	Members []string
	// Length of one shift: 24h (daily), 168h (weekly) or any other positive duration.
	Length time.Duration
	// HandoffHour and HandoffMinute are the wall-clock time of a handoff in Loc.
	HandoffHour, HandoffMinute int
	Loc                        *time.Location
	// Start is the day (in Loc) the first shift, Members[0]'s, begins at the handoff time.
	Start time.Time
}

// Override has User cover the rotation from Start to End. Of overrides
// that overlap, the one with the higher ID (the later one) wins.
type Override struct {
	ID         int64
	User       string
	Start, End time.Time
}

// Shift is one member's turn.
type Shift struct {
	Index      int64 // shift number; 0 is the first from Start
	Member     string
	Start, End time.Time
	// Override is the override that puts Member on call, if any.
	Override *Override
}

// ErrNoMembers is returned for a rotation with nobody in it.
var ErrNoMembers = errors.New("rotation has no members")

func (r Rotation) loc() *time.Location {
	if r.Loc == nil {
		return time.UTC
	}
	return r.Loc
}

func (r Rotation) calendar() bool { return r.Length%day == 0 }

// civil is a day number of a calendar date, whatever its zone.
func civil(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / int64(day/time.Second)
}

// shiftStart is when shift k begins.
func (r Rotation) shiftStart(k int64) time.Time {
	s := r.Start.In(r.loc())
	if r.calendar() {
		days := k * int64(r.Length/day)
		return time.Date(s.Year(), s.Month(), s.Day()+int(days), r.HandoffHour, r.HandoffMinute, 0, 0, r.loc())
	}
	first := time.Date(s.Year(), s.Month(), s.Day(), r.HandoffHour, r.HandoffMinute, 0, 0, r.loc())
	return first.Add(time.Duration(k) * r.Length)
}

// shiftIndex is the number of the shift that covers t.
func (r Rotation) shiftIndex(t time.Time) int64 {
	var k int64
	if r.calendar() {
		per := int64(r.Length / day)
		k = floorDiv(civil(t.In(r.loc()))-civil(r.Start.In(r.loc())), per)
	} else {
		k = floorDiv(int64(t.Sub(r.shiftStart(0))), int64(r.Length))
	}
	// The estimate is off by at most one around the handoff time of day.
	for r.shiftStart(k).After(t) {
		k--
	}
	for !r.shiftStart(k + 1).After(t) {
		k++
	}
	return k
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Scheduled is the shift the rotation's order puts at t, overrides aside.
func (r Rotation) Scheduled(t time.Time) (Shift, error) {
	if len(r.Members) == 0 {
		return Shift{}, ErrNoMembers
	}
	if r.Length <= 0 {
		return Shift{}, fmt.Errorf("rotation %s: length must be positive", r.Name)
	}
	k := r.shiftIndex(t)
	n := int64(len(r.Members))
	return Shift{Index: k, Member: r.Members[((k%n)+n)%n], Start: r.shiftStart(k), End: r.shiftStart(k + 1)}, nil
}

// At is who is on call at t: the latest override covering t, else the
// scheduled member. Start and End are when that person's cover began and
// ends (an override cut into a shift ends where the override does).
func (r Rotation) At(t time.Time, overrides []Override) (Shift, error) {
	s, err := r.Scheduled(t)
	if err != nil {
		return s, err
	}
	var win *Override
	for i := range overrides {
		o := &overrides[i]
		if !o.Start.After(t) && o.End.After(t) && (win == nil || o.ID > win.ID) {
			win = o
		}
	}
	// The cover lasts until the next instant someone else takes over: the
	// override's end or a later override's start, or the shift's end or
	// an override's start.
	next := s.End
	if win != nil {
		next = win.End
	}
	for _, o := range overrides {
		if o.Start.After(t) && o.Start.Before(next) && (win == nil || o.ID > win.ID) {
			next = o.Start
		}
	}
	if win != nil {
		ov := *win
		s.Member, s.Override = ov.User, &ov
		s.Start = ov.Start
	}
	s.End = next
	return s, nil
}

// Next is the first cover after t by someone other than the one on call at
// t, looking ahead a full turn of the rotation; with nobody else in sight
// (a rotation of one) it is the next shift.
func (r Rotation) Next(t time.Time, overrides []Override) (Shift, error) {
	cur, err := r.At(t, overrides)
	if err != nil {
		return cur, err
	}
	// Each change is at a shift boundary or an override boundary.
	var bounds []time.Time
	k := r.shiftIndex(t)
	for i := int64(1); i <= int64(len(r.Members))+1; i++ {
		bounds = append(bounds, r.shiftStart(k+i))
	}
	for _, o := range overrides {
		for _, b := range []time.Time{o.Start, o.End} {
			if b.After(t) {
				bounds = append(bounds, b)
			}
		}
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].Before(bounds[j]) })
	for _, b := range bounds {
		s, err := r.At(b, overrides)
		if err != nil {
			return s, err
		}
		if s.Member != cur.Member {
			s.Start = b
			return s, nil
		}
	}
	return r.At(r.shiftStart(k+1), overrides)
}

// LastHandoff is the latest scheduled handoff at or before t.
func (r Rotation) LastHandoff(t time.Time) time.Time {
	return r.shiftStart(r.shiftIndex(t))
}

// NextHandoff is the first scheduled handoff after t.
func (r Rotation) NextHandoff(t time.Time) time.Time {
	return r.shiftStart(r.shiftIndex(t) + 1)
}

// Has reports whether user is a member of the rotation.
func (r Rotation) Has(user string) bool {
	for _, m := range r.Members {
		if m == user {
			return true
		}
	}
	return false
}
