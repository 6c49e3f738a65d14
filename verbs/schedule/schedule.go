// Package schedule holds the `schedule` verb: list the jobs, run one now,
// pause or resume one.
package schedule

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/human"
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
	// job resolves a job name in any case; an unknown one is refused with
	// the jobs there are.
	job := func(s *scheduler.Scheduler, c *commands.Call) error {
		name := c.Arg(0)
		for _, n := range s.Names() {
			if strings.EqualFold(n, name) {
				c.Args[0] = n
				return nil
			}
		}
		return commands.Unknown("job", "jobs", name, s.Names())
	}
	jobParam := commands.Param{Name: "job", Required: true, Help: jobHelp()}
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
			fmt.Fprintf(&b, "%-10s %-14s %-23s %-23s %-8s %s\n", "job", "spec", "next", "last", "result", "took")
			for _, j := range jobs {
				last, res, took := "never", "", ""
				if !j.Last.StartedAt.IsZero() {
					last = c.Time(j.Last.StartedAt.Time)
					res = j.Last.Result
					if !j.Last.FinishedAt.IsZero() {
						took = human.Duration(j.Last.FinishedAt.Sub(j.Last.StartedAt.Time))
					}
				}
				next := c.Time(j.Next)
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
				fmt.Fprintf(&b, "%-10s %-14s %-23s %-23s %-8s %s\n", j.Name, j.Spec, next, last, res, took)
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
			{Name: "run", Summary: "run a job now", Slow: true, Access: policy.Operate, Params: []commands.Param{jobParam},
				Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
					s, err := get()
					if err != nil {
						return commands.Response{}, err
					}
					if err := job(s, c); err != nil {
						return commands.Response{}, err
					}
					r, err := s.RunNow(ctx, c.Arg(0))
					if err != nil {
						return commands.Response{}, commands.Errorf("%v", err)
					}
					took := human.Duration(r.FinishedAt.Sub(r.StartedAt.Time))
					if r.Result != "ok" {
						return commands.Response{Message: chat.Message{Severity: chat.SevWarning, Text: fmt.Sprintf("job %s failed after %s: %s", r.Job, took, r.Error)}}, nil
					}
					return commands.Text("job %s ran: ok in %s", r.Job, took), nil
				}},
			pauseVerb("pause", "pause a job (kept across restarts)", true, get, job, jobParam),
			pauseVerb("resume", "resume a paused job", false, get, job, jobParam),
		},
	}}
}

// jobHelp names the jobs a configuration has by default (a config may
// add or turn off some: `/ops schedule list` shows them).
func jobHelp() string {
	names := make([]string, 0)
	for n := range config.Default().Schedules {
		names = append(names, n)
	}
	sort.Strings(names)
	return "a job from /ops schedule list: " + strings.Join(names, ", ")
}

func pauseVerb(name, summary string, paused bool, get func() (*scheduler.Scheduler, error), job func(*scheduler.Scheduler, *commands.Call) error, jobParam commands.Param) *commands.Verb {
	return &commands.Verb{Name: name, Summary: summary, Access: policy.Operate, Params: []commands.Param{jobParam},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			s, err := get()
			if err != nil {
				return commands.Response{}, err
			}
			if err := job(s, c); err != nil {
				return commands.Response{}, err
			}
			if err := s.SetPaused(ctx, c.Arg(0), paused); err != nil {
				return commands.Response{}, err
			}
			return commands.Text("job %s %sd by %s", c.Arg(0), name, c.Actor()), nil
		}}
}
