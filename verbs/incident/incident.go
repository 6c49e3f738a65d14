// Package incident holds the `incident` verb: open, list, show, stage,
// note, lead, close, reopen, postmortem and stats of incidents.
package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/human"
	model "opsbot/incident"
	"opsbot/incidents"
	"opsbot/locale"
	"opsbot/paging"
	"opsbot/policy"
	"opsbot/textclip"
)

// Deps are what the verb needs.
type Deps struct {
	Incidents *incidents.Service
	// Alerts, when set, adds the alerts' mean time to acknowledge and
	// time to page to `incident stats` (package paging).
	Alerts AlertStats
}

// AlertStats reports the alerts' MTTA and time to page since a time.
type AlertStats interface {
	Stats(ctx context.Context, since time.Time) (paging.AckStats, error)
}

// stageAliases are the other ways people write a stage.
var stageAliases = func() map[string]string {
	m := locale.StageWords()
	for _, a := range []string{"postmortem", "post_mortem", "pm"} {
		m[a] = model.PostMortem.String()
	}
	return m
}()

// maxShown bounds the timeline entries shown by `incident show`.
const maxShown = 30

// Verbs returns the incident verb.
func Verbs(d Deps) []*commands.Verb {
	svc := d.Incidents
	idParam := commands.Param{Name: "id", Help: "incident number: the #N of /ops incident list", Required: true, Kind: "int"}
	var backStages []string
	for _, s := range model.Stages {
		if s != model.Closed {
			backStages = append(backStages, s.String())
		}
	}
	return []*commands.Verb{{
		Name:    "incident",
		Summary: "open and run incidents: stages, lead, notes, post-mortem",
		Examples: []string{
			`/ops incident open "API not responding" --sev critical`,
			"/ops incident stage 7 handling",
			"/ops incident lead 7 @alice",
			"/ops incident postmortem 7",
		},
		Subs: []*commands.Verb{
			{
				Name: "open", Access: policy.Operate, Summary: "open an incident by hand",
				Params: []commands.Param{{Name: "title", Help: "what is wrong", Required: true, Rest: true}},
				Flags: []commands.Flag{
					{Name: "sev", Help: "severity: critical (default) or warning", Choices: []string{model.SevCritical, model.SevWarning}, Aliases: commands.SeverityAliases},
					{Name: "target", Help: "the served target it concerns (default: the only one)"},
					{Name: "lead", Help: "who leads it: a user mention (@someone)"},
					{Name: "channel", Help: "the channel for its thread (default: channels.incident)", Kind: "channel"},
				},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					// A bad lead is refused before anything is opened.
					var lead string
					if l := c.Flag("lead"); l != "" {
						var err error
						if lead, err = model.ParseMention(c.Req.Platform, l); err != nil {
							return commands.Response{}, userErr(err)
						}
					}
					// So is a channel opsbot does not post incidents to.
					channel, err := svc.ThreadChannel(c.Req.Platform, c.Flag("channel"), c.Req.Address())
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					inc, err := svc.OpenIn(ctx, c.Arg(0), c.Flag("sev"), c.Flag("target"), channel, c.Actor())
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					if lead != "" {
						if inc, err = svc.SetLead(ctx, inc.ID, lead, c.Actor()); err != nil {
							return commands.Response{}, userErr(err)
						}
					}
					where := "no incident channel is configured (channels.incident): the timeline is kept, no thread"
					if inc.Channel != "" {
						where = "its thread is in " + model.ChannelRef(inc.Channel)
					}
					return commands.Response{Message: chat.Message{
						Title: fmt.Sprintf("Opened incident #%d: %s", inc.ID, inc.Title), Severity: sev(inc.Severity),
						Text:    fmt.Sprintf("Stage discovery (0–5 min); %s.", where),
						Context: fmt.Sprintf("next: /ops incident lead %d <user>, /ops incident stage %d assessment", inc.ID, inc.ID),
					}}, nil
				},
			},
			{
				Name: "list", Access: policy.Read, Summary: "list incidents, newest first",
				Flags: []commands.Flag{{Name: "open", Bool: true, Help: "only those not closed"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					list, err := svc.List(ctx, c.Has("open"), 25)
					if err != nil {
						return commands.Response{}, err
					}
					if len(list) == 0 {
						return commands.Text("no incidents"), nil
					}
					var b strings.Builder
					for _, inc := range list {
						fmt.Fprintf(&b, "#%-4d %-11s %-8s %-9s %-14s %s\n", inc.ID, inc.Stage, inc.Severity,
							model.FormatDuration(inc.Elapsed(c.Now)), cut(orDash(model.LeadName(inc.Lead)), 14), cut(inc.Title, 60))
					}
					title := "Incidents"
					if c.Has("open") {
						title = "Open incidents"
					}
					return commands.Response{Message: chat.Message{Title: title, Code: strings.TrimRight(b.String(), "\n")}}, nil
				},
			},
			{
				Name: "show", Access: policy.Read, Summary: "show an incident and its timeline",
				Params: []commands.Param{idParam},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					inc, tl, err := svc.Get(ctx, id)
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					return commands.Response{Message: showMessage(inc, tl, c.Now, c.Zone())}, nil
				},
			},
			{
				Name: "stage", Access: policy.Operate, Summary: "move an incident forward to a stage",
				Params: []commands.Param{idParam, {Name: "stage", Help: "the stage to move to", Required: true, Choices: model.StageNames(), Aliases: stageAliases}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					to, err := model.ParseStage(c.Arg(1))
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					inc, err := svc.Stage(ctx, id, to, c.Actor())
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					return commands.Text("incident #%d is now in %s%s", id, inc.Stage, window(inc.Stage)), nil
				},
			},
			{
				Name: "note", Access: policy.Operate, Summary: "add a note to an open incident's timeline",
				Params: []commands.Param{idParam, {Name: "text", Help: "the note", Required: true, Rest: true}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					if _, err := svc.Note(ctx, id, c.Arg(1), c.Actor()); err != nil {
						return commands.Response{}, userErr(err)
					}
					return commands.Text("note added to incident #%d", id), nil
				},
			},
			{
				Name: "lead", Access: policy.Operate, Summary: "name the incident's lead",
				Params: []commands.Param{idParam, {Name: "user", Help: "a user mention (@someone)", Required: true, Kind: "user"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					lead, err := model.ParseMention(c.Req.Platform, c.Arg(1))
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					if _, err := svc.SetLead(ctx, id, lead, c.Actor()); err != nil {
						return commands.Response{}, userErr(err)
					}
					return commands.Text("%s leads incident #%d", model.LeadName(lead), id), nil
				},
			},
			{
				Name: "close", Access: policy.Operate, Summary: "close an incident",
				Params: []commands.Param{idParam},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					inc, err := svc.Close(ctx, id, c.Actor())
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					return commands.Response{Message: chat.Message{Severity: chat.SevResolved,
						Text: fmt.Sprintf("incident #%d closed after %s", id, model.FormatDuration(inc.Elapsed(c.Now)))}}, nil
				},
			},
			{
				Name: "reopen", Access: policy.Operate, Summary: "take an incident back to an earlier stage (default handling)",
				Params: []commands.Param{idParam, {Name: "stage", Help: "the stage to go back to (default handling)", Choices: backStages, Aliases: stageAliases}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					var to model.Stage
					if a := c.Arg(1); a != "" {
						if to, err = model.ParseStage(a); err != nil {
							return commands.Response{}, userErr(err)
						}
					}
					inc, err := svc.Reopen(ctx, id, to, c.Actor())
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					return commands.Text("incident #%d reopened: now in %s%s", id, inc.Stage, window(inc.Stage)), nil
				},
			},
			{
				Name: "postmortem", Aliases: []string{"post-mortem", "pm"}, Access: policy.Operate, Summary: "write the post-mortem draft from the timeline",
				Params: []commands.Param{idParam},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					id, err := parseID(c.Arg(0))
					if err != nil {
						return commands.Response{}, err
					}
					md, inc, err := svc.PostMortem(ctx, id, c.Actor())
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					m := chat.Message{Title: fmt.Sprintf("Post-mortem draft of incident #%d", id),
						Text: "Written from the timeline; root cause and prevention are yours to fill in."}
					if inc.Channel != "" {
						m.Context = "also posted in the incident's thread in " + inc.Channel
					}
					// Where the command runs in the thread's own channel the
					// thread already carries the file.
					if inc.Channel == "" || inc.Channel != c.Req.Address() {
						m.Files = []chat.File{incidents.PostMortemFile(id, md)}
					}
					return commands.Response{Message: m}, nil
				},
			},
			{
				Name: "stats", Access: policy.Read, Summary: "count incidents and mean times to acknowledge and recover",
				Flags: []commands.Flag{{Name: "days", Help: "the period in days (default 30)", Kind: "int"}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					days, err := c.Int("days", 30)
					if err != nil {
						return commands.Response{}, err
					}
					st, err := svc.Stats(ctx, days)
					if err != nil {
						return commands.Response{}, userErr(err)
					}
					resp := commands.Response{Message: chat.Message{
						Title: fmt.Sprintf("Incidents in the last %d days", days),
						Fields: []chat.Field{
							{Name: "Count", Value: fmt.Sprintf("%d (%d critical, %d open)", st.Count, st.Critical, st.Open), Inline: true},
							{Name: "Mean time to acknowledge", Value: mean(st.MeanAck, st.Acked), Inline: true},
							{Name: "Mean time to recover", Value: mean(st.MeanRecover, st.Recovered), Inline: true},
						},
					}}
					if d.Alerts != nil {
						as, err := d.Alerts.Stats(ctx, st.Since)
						if err != nil {
							return commands.Response{}, err
						}
						resp.Fields = append(resp.Fields,
							chat.Field{Name: "Alerts: mean time to acknowledge", Value: mean(as.MTTA, as.Acked), Inline: true},
							chat.Field{Name: "Alerts: mean time to page", Value: mean(as.TimeToPage, as.Paged), Inline: true})
					}
					return resp, nil
				},
			},
		},
	}}
}

func showMessage(inc model.Incident, tl []model.Entry, now time.Time, loc *time.Location) chat.Message {
	var b strings.Builder
	start := 0
	if len(tl) > maxShown {
		start = len(tl) - maxShown
		fmt.Fprintf(&b, "… %d earlier entries (the post-mortem draft has them all)\n", start)
	}
	for _, e := range tl[start:] {
		fmt.Fprintf(&b, "%s  %-9s %-22s %s\n", human.Stamp(e.At, loc), e.Kind, cut(e.Actor, 22), cut(strings.Join(strings.Fields(e.Text), " "), 100))
	}
	stage := inc.Stage.String() + window(inc.Stage)
	if inc.Overdue(now) {
		stage += ", past its target"
	}
	return chat.Message{
		Title:    fmt.Sprintf("Incident #%d: %s", inc.ID, inc.Title),
		Severity: sev(inc.Severity),
		Fields: []chat.Field{
			{Name: "Stage", Value: stage, Inline: true},
			{Name: "Severity", Value: inc.Severity, Inline: true},
			{Name: "Lead", Value: orDash(model.LeadName(inc.Lead)), Inline: true},
			{Name: "Elapsed", Value: model.FormatDuration(inc.Elapsed(now)), Inline: true},
			{Name: "Target", Value: orDefault(inc.Target, "every target"), Inline: true},
		},
		Code:    strings.TrimRight(b.String(), "\n"),
		Context: fmt.Sprintf("opened %s by %s", human.Time(inc.OpenedAt, loc), inc.OpenedBy),
	}
}

// userErr shows refusals as they are; anything else is an internal error.
func userErr(err error) error {
	if r, ok := model.AsRefusal(err); ok {
		return commands.Errorf("%s", r.Msg)
	}
	return err
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, commands.Errorf("an incident id is a whole number like 7, got %q", cut(s, 30))
	}
	return id, nil
}

func window(s model.Stage) string {
	if w := s.WindowText(); w != "" {
		return " (" + w + ")"
	}
	return ""
}

func sev(s string) chat.Severity {
	if s == model.SevWarning {
		return chat.SevWarning
	}
	return chat.SevCritical
}

func mean(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%s (of %d)", model.FormatDuration(d), n)
}

func orDash(s string) string { return orDefault(s, "—") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func cut(s string, n int) string { return textclip.Runes(s, n, textclip.Ellipsis) }
