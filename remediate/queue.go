package remediate

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"opsbot/store"
)

// Queue is the name of the River queue automatic actions run on. A later
// fleet of agents adds queues per host beside it.
const Queue = "actions"

// Job kinds, one per action: the queue's job kind is the action's name.
const (
	ActRestart    = "restart"
	ActCacheFlush = "cache_flush"
	ActCleanup    = "cleanup"
)

// Args are what an action job carries: the attempt row it works for, the
// target and action (the job's unique key: one unfinished job per target
// and action), the alert that caused it and which attempt of the budget
// it is.
type Args struct {
	AttemptID int64  `json:"attempt_id"`
	Target    string `json:"target" river:"unique"`
	// Host, when set, is the agent's host the action runs on (a fleet).
	Host        string `json:"host,omitempty" river:"unique"`
	Action      string `json:"action" river:"unique"`
	Fingerprint string `json:"fingerprint"`
	Attempt     int    `json:"attempt"`
	Budget      int    `json:"budget"`
}

func (a Args) args() Args { return a }

// RestartArgs is a restart job.
type RestartArgs struct{ Args }

// Kind implements river.JobArgs.
func (RestartArgs) Kind() string { return ActRestart }

// CacheFlushArgs is a cache flush job.
type CacheFlushArgs struct{ Args }

// Kind implements river.JobArgs.
func (CacheFlushArgs) Kind() string { return ActCacheFlush }

// CleanupArgs is a cleanup job.
type CleanupArgs struct{ Args }

// Kind implements river.JobArgs.
func (CleanupArgs) Kind() string { return ActCleanup }

func jobArgsFor(a Args) river.JobArgs {
	switch a.Action {
	case ActRestart:
		return RestartArgs{a}
	case ActCacheFlush:
		return CacheFlushArgs{a}
	case ActCleanup:
		return CleanupArgs{a}
	}
	return nil
}

type actionArgs interface {
	river.JobArgs
	args() Args
}

type worker[T actionArgs] struct {
	river.WorkerDefaults[T]
	r *Remediator
}

func (w *worker[T]) Work(ctx context.Context, j *river.Job[T]) error {
	w.r.work(ctx, j.Args.args(), func(ctx context.Context, tx *sql.Tx) error {
		// The job completes in the transaction that finishes its attempt:
		// the attempt row and the queue never disagree on whether the
		// target has an action unfinished.
		var err error
		if w.r.Store.Dialect == "postgres" {
			_, err = river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, j)
		} else {
			_, err = river.JobCompleteTx[*riversqlite.Driver](ctx, tx, j)
		}
		return err
	})
	return nil
}

func (w *worker[T]) Timeout(j *river.Job[T]) time.Duration { return w.r.timeout(j.Args.args()) }

// unfinished are the job states that make a second job of the same target
// and action a duplicate: once a job is done, the next may be queued.
var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// insertOpts: one attempt per job (a failed action is an outcome the
// thread is told, not something to retry behind its back), unique per
// target and action while unfinished.
func insertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: Queue, MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// FetchPollInterval is how often an idle worker looks for new jobs: a
// queued action starts within about this long.
const FetchPollInterval = 100 * time.Millisecond

// stuckAfter is when River rescues a job whose worker died; longer than
// any action's timeout.
const stuckAfter = 30 * time.Minute

func driverFor(st *store.Store) riverdriver.Driver[*sql.Tx] {
	if st.Dialect == "postgres" {
		return riverdatabasesql.New(st.DB.DB)
	}
	// The store's SQLite pool has one connection (one writer), which is
	// what River's SQLite driver asks for too.
	return riversqlite.New(st.DB.DB)
}

// MigrateQueue applies River's own migrations to the store (idempotent).
func MigrateQueue(ctx context.Context, st *store.Store, log *slog.Logger) error {
	m, err := rivermigrate.New(driverFor(st), &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return fmt.Errorf("migrate action queue: %w", err)
	}
	if st.Dialect != "postgres" {
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("migrate action queue: %w", err)
		}
		return nil
	}
	// Replicas may start together: one migrates, the others wait for it
	// on an advisory lock and then find nothing to do. (River's migrations
	// cannot all run in one transaction, so the lock is held by a session.)
	conn, err := st.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate action queue: %w", err)
	}
	defer conn.Close()
	// One lock per schema, as the store's migrations: stores in other
	// schemas of the database do not wait for each other.
	var schema string
	if err := conn.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("migrate action queue: %w", err)
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("opsbot-queue-migrate:" + schema))
	key := int64(h.Sum64() >> 1)
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return fmt.Errorf("migrate action queue: lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	}()
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate action queue: %w", err)
	}
	return nil
}

func (r *Remediator) newClient() (*river.Client[*sql.Tx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[RestartArgs]{r: r})
	river.AddWorker(workers, &worker[CacheFlushArgs]{r: r})
	river.AddWorker(workers, &worker[CleanupArgs]{r: r})
	c, err := river.NewClient(driverFor(r.Store), &river.Config{
		Queues:               map[string]river.QueueConfig{Queue: {MaxWorkers: 4}},
		Workers:              workers,
		FetchPollInterval:    FetchPollInterval,
		FetchCooldown:        FetchPollInterval / 2,
		MaxAttempts:          1,
		RescueStuckJobsAfter: stuckAfter,
		Logger:               quiet(r.Log),
	})
	if err != nil {
		return nil, fmt.Errorf("action queue: %w", err)
	}
	return c, nil
}

// quiet passes on River's warnings and errors only: its start and stop
// notices are not news in the bot's log.
func quiet(log *slog.Logger) *slog.Logger {
	if log == nil {
		log = slog.Default()
	}
	return slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "queue")
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
