package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/store"
)

// ErrInvalid marks bad input; the error's text is a one-line reason fit to
// show a user.
var ErrInvalid = errors.New("invalid input")

type inputError struct{ msg string }

func (e *inputError) Error() string        { return e.msg }
func (e *inputError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// MaxOverride bounds one override.
const MaxOverride = 14 * 24 * time.Hour

// Cover is who covers a rotation, from when until when.
type Cover struct {
	Rotation   string
	Person     string
	Start, End time.Time
	Override   bool
}

// Shifts is one rotation's cover now and next.
type Shifts struct {
	Now, Next Cover
}

// OnCall returns, per rotation in name order, who is on call at Now and who is next.
func (e *Engine) OnCall(ctx context.Context) ([]Shifts, error) {
	cfg := e.cfg()
	now := e.Now()
	d, err := loadDirectory(ctx, e.st.DB, cfg, now)
	if err != nil {
		return nil, err
	}
	var out []Shifts
	for _, name := range d.names() {
		cur, err := d.at(name, now)
		if err != nil {
			return nil, fmt.Errorf("rotation %s: %w", name, err)
		}
		nx, err := d.next(name, now)
		if err != nil {
			return nil, fmt.Errorf("rotation %s: %w", name, err)
		}
		out = append(out, Shifts{
			Now:  Cover{Rotation: name, Person: cur.Member, Start: cur.Start, End: cur.End, Override: cur.Override != nil},
			Next: Cover{Rotation: name, Person: nx.Member, Start: nx.Start, End: nx.End, Override: nx.Override != nil},
		})
	}
	return out, nil
}

// PersonOf resolves who ("alice", "slack:U1", "<@U1>") to a person's name
// as paging.people names them; platform is the asker's platform, for a bare mention.
func (e *Engine) PersonOf(platform, who string) (string, bool) {
	pg := e.cfg().Paging
	if id, ok := strings.CutPrefix(who, "<@"); ok {
		id = strings.TrimPrefix(strings.TrimSuffix(id, ">"), "!")
		id, _, _ = strings.Cut(id, "|")
		who = platform + ":" + id
	}
	return pg.PersonOf(strings.TrimPrefix(who, "@"))
}

// Override has person cover rotation from start for d. actor is the chat
// principal asking ("slack:U1"); unless admin, they must be a member of the
// rotation. It returns the override as stored.
func (e *Engine) Override(ctx context.Context, rotation, who, platform string, start time.Time, d time.Duration, actor string, admin bool) (store.Override, error) {
	cfg := e.cfg()
	now := e.Now()
	var o store.Override
	if _, ok := cfg.Paging.Rotations[rotation]; !ok {
		return o, invalidf("unknown rotation %q; rotations: %s", rotation, strings.Join(rotationNames(cfg), ", "))
	}
	name, ok := e.PersonOf(platform, who)
	if !ok {
		return o, invalidf("unknown person %q (not in paging.people)", who)
	}
	if d <= 0 || d > MaxOverride {
		return o, invalidf("duration must be between 1m and %s", "336h")
	}
	if start.IsZero() {
		start = now
	}
	end := start.Add(d)
	if !end.After(now) {
		return o, invalidf("that override would end in the past (%s)", end.UTC().Format(time.RFC3339))
	}
	if start.Before(now) {
		start = now // cover from now; the past cannot be covered
	}
	err := e.st.Tx(ctx, func(tx *sqlx.Tx) error {
		dir, err := loadDirectory(ctx, tx, cfg, now)
		if err != nil {
			return err
		}
		if !admin {
			me, ok := cfg.Paging.PersonOf(actor)
			if !ok || !slices.Contains(dir.rotations[rotation].Members, me) {
				return invalidf("only a member of %s (or an admin) may override it", rotation)
			}
		}
		o = store.Override{Rotation: rotation, Person: name, StartsAt: store.T(start), EndsAt: store.T(end), CreatedBy: actor, CreatedAt: store.T(now)}
		return store.AddOverride(ctx, tx, &o)
	})
	return o, err
}

// SetMembers replaces a rotation's members (an admin's edit from chat; the
// policy decides who may).
func (e *Engine) SetMembers(ctx context.Context, rotation string, members []string, by string) error {
	cfg := e.cfg()
	if _, ok := cfg.Paging.Rotations[rotation]; !ok {
		return invalidf("unknown rotation %q; rotations: %s", rotation, strings.Join(rotationNames(cfg), ", "))
	}
	if len(members) == 0 {
		return invalidf("a rotation needs at least one member")
	}
	for _, m := range members {
		if _, ok := cfg.Paging.People[m]; !ok {
			return invalidf("unknown person %q (not in paging.people)", m)
		}
	}
	js, err := json.Marshal(members)
	if err != nil {
		return err
	}
	return store.SetRotationMembers(ctx, e.st.DB, rotation, string(js), by, e.Now())
}

func rotationNames(cfg *config.Config) []string {
	var out []string
	for n := range cfg.Paging.Rotations {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// handoff posts "on call now: …" in paging.channel once per scheduled
// handoff (the latest of any rotation's).
func (e *Engine) handoff(ctx context.Context, cfg *config.Config) error {
	ch := cfg.Paging.Channel
	if ch == "" || len(cfg.Paging.Rotations) == 0 {
		return nil
	}
	now := e.Now()
	d, err := loadDirectory(ctx, e.st.DB, cfg, now)
	if err != nil {
		return err
	}
	var at time.Time
	for _, name := range d.names() {
		if h := d.rotations[name].LastHandoff(now); h.After(at) {
			at = h
		}
	}
	last, err := store.LastHandoff(ctx, e.st.DB)
	if err != nil || !at.After(last) {
		return err
	}
	platform, _, _ := strings.Cut(ch, ":")
	m := chat.Message{Severity: chat.SevInfo}
	var parts []string
	for _, name := range d.names() {
		s, err := d.at(name, now)
		who := txtNobody
		if err == nil {
			p := d.person(s.Member, s.Member)
			who = s.Member
			if id := p.idOn(platform); id != "" {
				m.Mentions = append(m.Mentions, id)
			}
		}
		parts = append(parts, who+" ("+name+")")
	}
	m.Text = fmt.Sprintf(txtHandoff, strings.Join(parts, ", "))
	return e.st.Tx(ctx, func(tx *sqlx.Tx) error {
		ok, err := store.ClaimHandoff(ctx, tx, at, now)
		if err != nil || !ok {
			return err
		}
		_, err = e.out.SendTx(ctx, tx, ch, "oncall:handoff", m, now)
		return err
	})
}
