// Package fleet runs opsbot on many hosts with one bot on top. An agent
// (`opsbot agent`) on each host registers it in the shared PostgreSQL
// store, heartbeats, samples the host, runs its local log monitors and
// security scans (their observations go into the pipeline's inbox, tagged
// with the host) and works the River queue of its own host. The bot
// dispatches actions to a host as River jobs on that queue (the same River
// as the action queue of remediation: no second queue), waits for their
// results and tells them; the leader watches heartbeats (host_down) and
// marks the jobs of a dead agent lost.
//
// Restarts are not idempotent, so a job is tried once: MaxAttempts is 1,
// and a job whose agent died while it ran is discarded and marked lost in
// its row (metadata fleet_lost), never queued again. River's own rescuer
// would discard it too (attempts spent), only much later.
package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"opsbot/store"
)

// Kind is the River job kind of an action addressed to a host.
const Kind = "fleet_action"

// FetchPollInterval is how often an idle agent looks for a job: a
// dispatched action starts within about this long (riverdatabasesql has
// no listener).
const FetchPollInterval = 100 * time.Millisecond

// stuckAfter is when River's rescuer gives up on a running job (it is
// then discarded, never retried); the leader's heartbeat check finds a
// dead agent's job long before.
const stuckAfter = 30 * time.Minute

// QueueName is the River queue of host. River queue names allow letters,
// digits, '_' and '-', so host:<name> is spelled host_<name>.
func QueueName(host string) string { return "host_" + host }

// HostOfQueue is the host a queue belongs to ("" for another queue).
func HostOfQueue(q string) string {
	h, ok := strings.CutPrefix(q, "host_")
	if !ok {
		return ""
	}
	return h
}

// ActionArgs are what an action job carries: where, what, for whom.
type ActionArgs struct {
	Host   string `json:"host"`
	Target string `json:"target"`
	Action string `json:"action"`
	By     string `json:"by"`
}

// Kind implements river.JobArgs.
func (ActionArgs) Kind() string { return Kind }

// InsertOpts implements river.JobArgsWithInsertOpts: the host's queue,
// one attempt.
func (a ActionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName(a.Host), MaxAttempts: 1}
}

// Outcomes of an action job.
const (
	OutcomeOK        = "ok"        // ran, target healthy
	OutcomeFailed    = "failed"    // the command failed
	OutcomeUnhealthy = "unhealthy" // ran, target not healthy by its deadline
	OutcomeRefused   = "refused"   // not allowed by the agent's own configuration
	OutcomeBusy      = "busy"      // another action on the instance held its lock
	OutcomeLost      = "lost"      // the agent died while it ran
	OutcomeNotRun    = "not_run"   // cancelled before an agent took it
)

// Result is what an action job returns (its River output).
type Result struct {
	Host    string `json:"host"`
	Target  string `json:"target"`
	Action  string `json:"action"`
	Outcome string `json:"outcome"`
	// Exit is the command's exit status (-1 when it did not exit).
	Exit int `json:"exit"`
	// Output is the tail of the command's output.
	Output  string `json:"output,omitempty"`
	Healthy bool   `json:"healthy"`
	// HealthMS is the time to healthy after the command; TookMS the whole action.
	HealthMS int64  `json:"health_ms"`
	TookMS   int64  `json:"took_ms"`
	Text     string `json:"text"`
	JobID    int64  `json:"job_id"`
}

// OK reports whether the action ran and left its instance healthy.
func (r Result) OK() bool { return r.Outcome == OutcomeOK }

// Instance is the instance's address, target@host.
func (r Result) Instance() string { return r.Target + "@" + r.Host }

// outputTail bounds the output a result carries.
const outputTail = 4000

func driver(st *store.Store) *riverdatabasesql.Driver { return riverdatabasesql.New(st.DB.DB) }

// ErrNeedsPostgres is returned when a fleet is asked of a SQLite store.
var ErrNeedsPostgres = errors.New("a fleet needs the PostgreSQL store its agents share (store.driver: postgres)")

// lostKey is the metadata key that marks a job lost in its row.
const lostKey = "fleet_lost"

// markLost discards job id if it still runs, marking it lost with why. It
// reports whether it did (false: it finished meanwhile).
func markLost(ctx context.Context, db *sql.DB, id int64, why string) (bool, error) {
	meta, _ := json.Marshal(map[string]string{lostKey: why})
	res, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now(),
		metadata = metadata || $2::jsonb WHERE id = $1 AND state = 'running'`, id, string(meta))
	if err != nil {
		return false, fmt.Errorf("mark job %d lost: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// runningJob is a running action job and the River client working it.
type runningJob struct {
	ID    int64
	Queue string
	By    string // the last client that attempted it
	Args  ActionArgs
}

func runningJobs(ctx context.Context, db *sql.DB) ([]runningJob, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, queue, COALESCE(attempted_by[array_length(attempted_by, 1)], ''), args
		FROM river_job WHERE state = 'running' AND kind = $1`, Kind)
	if err != nil {
		return nil, fmt.Errorf("running jobs: %w", err)
	}
	defer rows.Close()
	var out []runningJob
	for rows.Next() {
		var (
			j    runningJob
			args []byte
		)
		if err := rows.Scan(&j.ID, &j.Queue, &j.By, &args); err != nil {
			return nil, fmt.Errorf("running jobs: %w", err)
		}
		_ = json.Unmarshal(args, &j.Args)
		out = append(out, j)
	}
	return out, rows.Err()
}

// quiet passes on River's warnings and errors only.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		log = slog.Default()
	}
	return slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "fleet-queue")
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
