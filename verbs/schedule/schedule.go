// Package schedule holds the `schedule` verb: list the jobs, run one now,
// pause or resume one.
package schedule

import (
	"context"
	"fmt"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/policy"
	"opsbot/scheduler"
)

// Deps are what the verb needs.
type Deps struct {
	Scheduler func() *scheduler.Scheduler // nil until the scheduler runs (it runs on the leader)
}

// Verbs returns the schedule verb.
func Verbs(d Deps) []*commands.Verb {
	get := func() (*scheduler.Scheduler, error) {
		s := d.Scheduler()
		if s == nil {
			return nil, commands.Errorf("the scheduler is not running on this replica")
		}
		return s, nil
	}
	job := func(s *scheduler.Scheduler, name string) error {
		if !s.Has(name) {
			return commands.Errorf("unknown job %q; jobs: %s", name, strings.Join(s.Names(), ", "))
		}
		return nil
	}
	list := &commands.Verb{Name: "list", Access: policy.Read, Summary: "jobs with next run, last run, result and duration",
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			s, err := get()
			if err != nil {
				return commands.Response{}, err
			}
			jobs, err := s.List(ctx)
			if err != nil {
				return commands.Response{}, err
			}
			var b strings.Builder
			fmt.Fprintf(&b, "%-10s %-14s %-17s %-17s %-8s %s\n", "job", "spec", "next", "last", "result", "took")
			for _, j := range jobs {
				last, res, took := "never", "", ""
				if !j.Last.StartedAt.IsZero() {
					last = j.Last.StartedAt.Local().Format("01-02 15:04:05")
					res = j.Last.Result
					if !j.Last.FinishedAt.IsZero() {
						took = j.Last.FinishedAt.Sub(j.Last.StartedAt.Time).Round(time.Millisecond).String()
					}
				}
				next := j.Next.Local().Format("01-02 15:04:05")
				switch {
				case j.Off:
					next = "off (config)"
				case j.Paused:
					next = "paused"
				case j.Running:
					res = "running"
				}
				if j.Overdue {
					res += " (overdue)"
				}
				fmt.Fprintf(&b, "%-10s %-14s %-17s %-17s %-8s %s\n", j.Name, j.Spec, next, last, res, took)
				if j.Last.Error != "" {
					fmt.Fprintf(&b, "           last error: %s\n", j.Last.Error)
				}
			}
			return commands.Response{Message: chat.Message{Title: "Scheduled jobs", Code: strings.TrimRight(b.String(), "\n")}}, nil
		}}
	return []*commands.Verb{{
		Name: "schedule", Summary: "scheduled jobs: list, run one now, pause or resume", Default: "list",
		Examples: []string{"/ops schedule", "/ops schedule run backup", "/ops schedule pause cleanup"},
		Subs: []*commands.Verb{list,
			{Name: "run", Summary: "run a job now", Slow: true, Access: policy.Operate, Params: []commands.Param{{Name: "job", Required: true}},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					s, err := get()
					if err != nil {
						return commands.Response{}, err
					}
					if err := job(s, c.Arg(0)); err != nil {
						return commands.Response{}, err
					}
					r, err := s.RunNow(ctx, c.Arg(0))
					if err != nil {
						return commands.Response{}, commands.Errorf("%v", err)
					}
					took := r.FinishedAt.Sub(r.StartedAt.Time).Round(time.Millisecond)
					if r.Result != "ok" {
						return commands.Response{Message: chat.Message{Severity: chat.SevWarning, Text: fmt.Sprintf("job %s failed after %s: %s", r.Job, took, r.Error)}}, nil
					}
					return commands.Text("job %s ran: ok in %s", r.Job, took), nil
				}},
			pauseVerb("pause", "pause a job (kept across restarts)", true, get, job),
			pauseVerb("resume", "resume a paused job", false, get, job),
		},
	}}
}

func pauseVerb(name, summary string, paused bool, get func() (*scheduler.Scheduler, error), job func(*scheduler.Scheduler, string) error) *commands.Verb {
	return &commands.Verb{Name: name, Summary: summary, Access: policy.Operate, Params: []commands.Param{{Name: "job", Required: true}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			s, err := get()
			if err != nil {
				return commands.Response{}, err
			}
			if err := job(s, c.Arg(0)); err != nil {
				return commands.Response{}, err
			}
			if err := s.SetPaused(ctx, c.Arg(0), paused); err != nil {
				return commands.Response{}, err
			}
			return commands.Text("job %s %sd by %s", c.Arg(0), name, c.Actor()), nil
		}}
}
