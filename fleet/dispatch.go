package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"opsbot/config"
	"opsbot/store"
)

// Dispatcher is the bot's side of the queue: it addresses actions to
// hosts and waits for their results. It works no queue itself (an
// insert-only River client), so any replica may dispatch.
type Dispatcher struct {
	Store  *store.Store
	Config func() *config.Config
	Log    *slog.Logger
	// Now is the clock of host states [time.Now].
	Now func() time.Time
	// Poll is how often Wait looks at the job row [100ms].
	Poll time.Duration

	client *river.Client[*sql.Tx]
}

// NewDispatcher makes a dispatcher on a PostgreSQL store whose queue
// tables are migrated.
func NewDispatcher(st *store.Store, cfg func() *config.Config, log *slog.Logger) (*Dispatcher, error) {
	if st.Dialect != "postgres" {
		return nil, ErrNeedsPostgres
	}
	if log == nil {
		log = slog.Default()
	}
	c, err := river.NewClient(driver(st), &river.Config{Logger: quiet(log)})
	if err != nil {
		return nil, fmt.Errorf("fleet: queue: %w", err)
	}
	return &Dispatcher{Store: st, Config: cfg, Log: log, Now: time.Now, Poll: 100 * time.Millisecond, client: c}, nil
}

func (d *Dispatcher) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Hosts reads the fleet.
func (d *Dispatcher) Hosts(ctx context.Context) ([]Host, error) { return LoadHosts(ctx, d.Store) }

// Dispatch queues action on target@host and returns the job's id.
func (d *Dispatcher) Dispatch(ctx context.Context, host, target, action, by string) (int64, error) {
	res, err := d.client.Insert(ctx, ActionArgs{Host: host, Target: target, Action: action, By: by}, nil)
	if err != nil {
		return 0, fmt.Errorf("dispatch %s of %s@%s: %w", action, target, host, err)
	}
	return res.Job.ID, nil
}

// Wait waits for job id's result. A job that finished gives the agent's
// result; one marked lost (its agent died while it ran) gives
// OutcomeLost; one still waiting while its host is down is cancelled and
// gives OutcomeNotRun. ctx bounds the wait.
func (d *Dispatcher) Wait(ctx context.Context, id int64, a ActionArgs) (Result, error) {
	poll := d.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	base := Result{Host: a.Host, Target: a.Target, Action: a.Action, Exit: -1, JobID: id}
	for {
		j, err := d.client.JobGet(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return base, ctx.Err()
			}
			return base, fmt.Errorf("job %d: %w", id, err)
		}
		if r, done := d.finished(j, base); done {
			return r, nil
		}
		if j.State == rivertype.JobStateAvailable || j.State == rivertype.JobStateScheduled {
			if h, err := d.Store.HostByName(ctx, a.Host); err == nil {
				host := fromRow(h)
				if host.Down(d.now(), d.Config().Fleet.DownAfter) || host.Stopped {
					if _, err := d.client.JobCancel(ctx, id); err == nil {
						base.Outcome = OutcomeNotRun
						base.Text = fmt.Sprintf("%s of %s not started: %s is %s", a.Action, base.Instance(), a.Host, map[bool]string{true: "stopped", false: "down"}[host.Stopped])
						return base, nil
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return base, ctx.Err()
		case <-time.After(poll):
		}
	}
}

func (d *Dispatcher) finished(j *rivertype.JobRow, base Result) (Result, bool) {
	switch j.State {
	case rivertype.JobStateCompleted:
		var r Result
		if err := json.Unmarshal(j.Output(), &r); err != nil || r.Outcome == "" {
			base.Outcome, base.Text = OutcomeFailed, fmt.Sprintf("%s of %s finished without a result", base.Action, base.Instance())
			return base, true
		}
		return r, true
	case rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		var meta map[string]any
		_ = json.Unmarshal(j.Metadata, &meta)
		if why, ok := meta[lostKey].(string); ok {
			base.Outcome = OutcomeLost
			base.Text = fmt.Sprintf("%s of %s lost: %s; not tried again (job %d)", base.Action, base.Instance(), why, j.ID)
			return base, true
		}
		base.Outcome = OutcomeNotRun
		if j.State == rivertype.JobStateDiscarded {
			base.Outcome = OutcomeLost
		}
		msg := string(j.State)
		if n := len(j.Errors); n > 0 {
			msg += ": " + j.Errors[n-1].Error
		}
		base.Text = fmt.Sprintf("%s of %s did not finish (%s); not tried again (job %d)", base.Action, base.Instance(), msg, j.ID)
		return base, true
	}
	return base, false
}

// Run dispatches one action and waits for it.
func (d *Dispatcher) Run(ctx context.Context, host, target, action, by string) (Result, error) {
	id, err := d.Dispatch(ctx, host, target, action, by)
	if err != nil {
		return Result{}, err
	}
	return d.Wait(ctx, id, ActionArgs{Host: host, Target: target, Action: action, By: by})
}

// ErrNoInstance is wrapped when no host serves a target.
var ErrNoInstance = errors.New("no instance")
