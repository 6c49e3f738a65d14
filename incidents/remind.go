package incidents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"opsbot/chat"
	"opsbot/incident"
	"opsbot/locale"
)

// Tick sends the reminders due at now: one for each open incident whose
// current stage has reached its target time, once per stage overrun (the
// store records which overrun was reminded, so a restart or a second
// replica does not remind again).
func (s *Service) Tick(ctx context.Context, now time.Time) error {
	open, err := s.st.OpenIncidents(ctx)
	if err != nil {
		return fmt.Errorf("incident reminders: %w", err)
	}
	var errs []error
	for _, inc := range open {
		if !inc.Overdue(now) {
			continue
		}
		p := s.printer(ctx, inc.Channel)
		e := incident.Entry{At: now, Actor: "opsbot", Kind: incident.KindReminder, Stage: 0, Ref: inc.ReminderKey(),
			Text: p.T("remind.entry", locale.Args{"Stage": p.StageName(inc.Stage.String()), "Target": p.Duration(inc.Stage.Target()), "Elapsed": p.Duration(inc.Elapsed(now))})}
		marked, err := s.st.MarkReminded(ctx, inc.ID, inc.ReminderKey(), e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !marked {
			continue
		}
		s.log.Info("incident reminder", "id", inc.ID, "stage", inc.Stage.String(), "lead", inc.Lead)
		s.reply(ctx, inc, s.reminder(p, inc, now))
		s.refresh(ctx, inc, now)
	}
	return errors.Join(errs...)
}

func (s *Service) reminder(p locale.Printer, inc incident.Incident, now time.Time) chat.Message {
	next := p.T("remind.next_stage", locale.Args{"ID": inc.ID})
	if inc.Stage == incident.PostMortem {
		next = p.T("remind.next_postmortem", locale.Args{"ID": inc.ID})
	}
	stage := p.StageName(inc.Stage.String())
	m := chat.Message{Severity: chat.SevWarning, Title: p.T("remind.title", locale.Args{"ID": inc.ID, "Stage": stage})}
	args := locale.Args{"ID": inc.ID, "Stage": stage, "Window": windowText(p, inc.Stage), "Elapsed": p.Duration(inc.Elapsed(now)), "Next": next}
	if inc.Lead != "" {
		args["Lead"] = incident.LeadName(inc.Lead)
		m.Text = p.T("remind.text_lead", args)
		m.Mentions = append(m.Mentions, incident.MentionID(inc.Lead))
	} else {
		m.Text = p.T("remind.text_nobody", args)
	}
	if s.cfg().Incidents.RemindChannel {
		if c := channelMention(inc.Channel); c != "" {
			m.Mentions = append(m.Mentions, c)
		}
	}
	return m
}

// channelMention is the channel-wide mention for the platform of a channel
// address, as chat.Message.Mentions carries it; "" where there is none.
func channelMention(addr string) string {
	switch p, _ := chat.SplitAddr(addr); p {
	case "slack":
		return "channel"
	case "console":
		return "@channel"
	}
	// Discord's renderer allows user and role mentions only.
	return ""
}

// nextDeadline is the earliest stage target time after now among open
// incidents (zero when none).
func (s *Service) nextDeadline(ctx context.Context, now time.Time) time.Time {
	open, err := s.st.OpenIncidents(ctx)
	if err != nil {
		return time.Time{}
	}
	var next time.Time
	for _, inc := range open {
		d := inc.Deadline()
		if d.IsZero() || !d.After(now) {
			continue
		}
		if next.IsZero() || d.Before(next) {
			next = d
		}
	}
	return next
}

// Run sends reminders until ctx ends: it wakes at the next stage target
// time (or after MaxWait, or when an incident changes here) and ticks.
func (s *Service) Run(ctx context.Context) error {
	for {
		now := s.now()
		if err := s.Tick(ctx, now); err != nil && ctx.Err() == nil {
			s.log.Error("incident reminders", "err", err)
		}
		wait := s.MaxWait
		if wait <= 0 {
			wait = time.Minute
		}
		if d := s.nextDeadline(ctx, now); !d.IsZero() && d.Sub(now) < wait {
			wait = d.Sub(now)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.Clock.After(wait):
		case <-s.wake:
		}
	}
}
