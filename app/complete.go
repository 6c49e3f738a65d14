package app

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"opsbot/bot/discord"
	"opsbot/bot/forms"
	"opsbot/bot/slack"
	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops/backup"
	"opsbot/scheduler"
)

// completions are the sources of Discord's autocomplete candidates that
// live outside the configuration: incidents, silences, backups and jobs,
// newest or most relevant first. Log names and targets the adapter reads
// from the configuration itself.
func (a *App) completions(inc *incidents.Service, n *notifier.Notifier, bk *backup.Service, sched *scheduler.Scheduler) []discord.Option {
	return []discord.Option{
		discord.WithCompletion(discord.CompleteIncident, func(ctx context.Context) ([]discord.Choice, error) {
			list, err := inc.List(ctx, false, 200)
			if err != nil {
				return nil, err
			}
			out := make([]discord.Choice, 0, len(list))
			for _, i := range list {
				out = append(out, discord.Choice{Value: strconv.FormatInt(i.ID, 10), Label: fmt.Sprintf("#%d %s (%s)", i.ID, i.Title, i.Stage)})
			}
			return out, nil
		}),
		discord.WithCompletion(discord.CompleteSilence, func(ctx context.Context) ([]discord.Choice, error) {
			list, err := n.Silences(ctx)
			if err != nil {
				return nil, err
			}
			out := make([]discord.Choice, 0, len(list))
			for _, s := range list {
				out = append(out, discord.Choice{Value: strconv.FormatInt(s.ID, 10), Label: fmt.Sprintf("#%d %s", s.ID, s.Matcher)})
			}
			return out, nil
		}),
		discord.WithCompletion(discord.CompleteBackup, func(ctx context.Context) ([]discord.Choice, error) {
			var out []discord.Choice
			var ids []int64
			for _, t := range a.Config().Targets {
				rows, err := bk.Store.Backups(ctx, t.Name)
				if err != nil {
					return nil, err
				}
				for _, r := range rows {
					ids = append(ids, r.ID)
					out = append(out, discord.Choice{Value: strconv.FormatInt(r.ID, 10), Label: fmt.Sprintf("#%d %s %s (%s)", r.ID, r.Target, r.Stamp, r.Status)})
				}
			}
			// Newest first across targets, not target by target.
			sort.Sort(byIDDesc{ids, out})
			return out, nil
		}),
		discord.WithCompletion(discord.CompleteJob, func(ctx context.Context) ([]discord.Choice, error) {
			jobs, err := sched.List(ctx)
			if err != nil {
				return nil, err
			}
			out := make([]discord.Choice, 0, len(jobs))
			for _, j := range jobs {
				out = append(out, discord.Choice{Value: j.Name, Label: j.Name + " (" + j.Spec + ")"})
			}
			return out, nil
		}),
	}
}

// slackLists is the source of the Slack forms' list of open incidents.
func (a *App) slackLists(inc *incidents.Service) slack.Option {
	return slack.WithFormList(forms.ListIncidents, func(ctx context.Context) ([]forms.Choice, error) {
		list, err := inc.List(ctx, true, 100)
		if err != nil {
			return nil, err
		}
		out := make([]forms.Choice, 0, len(list))
		for _, i := range list {
			out = append(out, forms.Choice{Value: strconv.FormatInt(i.ID, 10), Label: fmt.Sprintf("#%d %s", i.ID, i.Title)})
		}
		return out, nil
	})
}

// byIDDesc sorts choices by their ids, highest first.
type byIDDesc struct {
	ids []int64
	c   []discord.Choice
}

func (b byIDDesc) Len() int           { return len(b.ids) }
func (b byIDDesc) Less(i, j int) bool { return b.ids[i] > b.ids[j] }
func (b byIDDesc) Swap(i, j int) {
	b.ids[i], b.ids[j] = b.ids[j], b.ids[i]
	b.c[i], b.c[j] = b.c[j], b.c[i]
}
