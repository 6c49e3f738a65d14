// Package standin is a built-in stand-in of the served backend (the AI
// tutoring API of the operations guide), for `--demo` and for tests: a real
// HTTP service with /health, a real SQLite database in WAL mode that keeps
// being written, real log files in the guide's formats written
// continuously, an uploads folder, configuration files and a temp folder.
//
// A second, always-up control listener lets tests and the ctl client
// (CtlMain, wired as `opsbot standin-ctl <control-url> <action>`) stop,
// start, restart, update and roll it back, and make it misbehave.
//
// Stopped means stopped: the service listener is closed, so /health
// refuses connections, and the database and log writers pause (the
// database is closed, so it can be swapped, as a restore does).
package standin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	// The demo's logs are in Asia/Shanghai, which must load even on a
	// machine (or a static container) without a zoneinfo database.
	_ "time/tzdata"

	_ "modernc.org/sqlite"

	"opsbot/config"
)

// Health is how /health answers.
type Health string

const (
	HealthOK   Health = "ok"   // 200 at once
	HealthFail Health = "fail" // 503 {"status":"unhealthy"}
	HealthSlow Health = "slow" // 200 after the configured delay
)

// RestartMode is how the restart action behaves.
type RestartMode string

const (
	RestartOK        RestartMode = "ok"        // stop, come back after StartDelay, healthy
	RestartHang      RestartMode = "hang"      // the ctl process never returns (until killed)
	RestartUnhealthy RestartMode = "unhealthy" // comes back, but /health keeps failing
)

// Options tune the stand-in. Zero values take the defaults in brackets.
type Options struct {
	// Name of the target [demo].
	Name string
	// Self is the binary put at the start of the action argv [os.Executable()].
	Self string
	// CtlArgs follow Self in the action argv, before the control URL and
	// the action [standin-ctl].
	CtlArgs []string
	// RowsPerSecond inserted into the database [10]; negative: none.
	RowsPerSecond float64
	// LogInterval between batches of log lines [250ms].
	LogInterval time.Duration
	// History of log lines written at start, ending now [2h], HistoryLines per log [300].
	History      time.Duration
	HistoryLines int
	// Timezone of the logs [Asia/Shanghai].
	Timezone string
	// Now is the clock for timestamps in logs and rows [time.Now].
	Now func() time.Time
	// Seed of the line generator [1].
	Seed uint64
	// StartDelay is how long a restart keeps the service down [300ms].
	StartDelay time.Duration
	// Restart behaviour [RestartOK]; UnhealthyAfterUpdate makes /health fail
	// after an update until a rollback.
	Restart              RestartMode
	UnhealthyAfterUpdate bool
	// RedisAddr is put into the target (empty: Redis not configured).
	RedisAddr string
	// CommandTimeout and HealthDeadline of the target [30s, 15s].
	CommandTimeout time.Duration
	HealthDeadline time.Duration
	// UploadFiles to create [24].
	UploadFiles int
	Log         *slog.Logger
	// OnRestart, when set, is called as a restart is asked for, before the
	// service goes down: a test on an injected clock moves its clock there,
	// so a restart takes as long as it would for a real service.
	OnRestart func()
}

func (o *Options) defaults() error {
	if o.Name == "" {
		o.Name = "demo"
	}
	if o.Self == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("standin: own executable: %w", err)
		}
		o.Self = exe
	}
	if o.CtlArgs == nil {
		o.CtlArgs = []string{"standin-ctl"}
	}
	if o.RowsPerSecond == 0 {
		o.RowsPerSecond = 10
	}
	if o.LogInterval <= 0 {
		o.LogInterval = 250 * time.Millisecond
	}
	if o.History == 0 {
		o.History = 2 * time.Hour
	}
	if o.HistoryLines == 0 {
		o.HistoryLines = 300
	}
	if o.Timezone == "" {
		o.Timezone = "Asia/Shanghai"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.StartDelay == 0 {
		o.StartDelay = 300 * time.Millisecond
	}
	if o.Restart == "" {
		o.Restart = RestartOK
	}
	if o.CommandTimeout == 0 {
		o.CommandTimeout = 30 * time.Second
	}
	if o.HealthDeadline == 0 {
		o.HealthDeadline = 15 * time.Second
	}
	if o.UploadFiles == 0 {
		o.UploadFiles = 24
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Traffic shapes the access log written continuously.
type Traffic struct {
	Error5xxPct float64       // share of requests answered 5xx
	SlowPct     float64       // share of requests that take Slow
	Slow        time.Duration // [3s]
}

// State is what the stand-in is doing, as /ctl/state reports it.
type State struct {
	Running   bool   `json:"running"`
	Health    Health `json:"health"`
	Version   int    `json:"version"`
	Restarts  int    `json:"restarts"`
	Updates   int    `json:"updates"`
	Rollbacks int    `json:"rollbacks"`
	Hangs     int    `json:"hangs"`
	Rows      int64  `json:"rows"`
}

// Backend is a running stand-in.
type Backend struct {
	dir  string
	opts Options
	loc  *time.Location

	svcAddr string
	ctlLn   net.Listener
	ctlSrv  *http.Server

	closeCtx  context.Context
	closeStop context.CancelFunc

	// mu guards the lifecycle and the modes below.
	mu          sync.Mutex
	running     bool
	svc         *http.Server
	db          *sql.DB
	runStop     context.CancelFunc
	runWG       sync.WaitGroup
	health      Health
	slowDelay   time.Duration
	restartMode RestartMode
	updateBreak bool
	llmOK       bool
	state       State
	bg          sync.WaitGroup
	closed      bool

	rows atomic.Int64

	// logMu serialises writes to the log files and guards the generator
	// and the traffic shape; the writers never take mu (Stop waits for them
	// while holding it).
	logMu   sync.Mutex
	rng     *rand.Rand
	traffic Traffic

	flt faultState // injected faults (Inject, Clear)
}

// Start lays out the backend under dir and starts it. It stops when ctx
// ends or Close is called.
func Start(ctx context.Context, dir string, opts Options) (*Backend, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(opts.Timezone)
	if err != nil {
		return nil, fmt.Errorf("standin: time zone %q: %w", opts.Timezone, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("standin: %w", err)
	}
	b := &Backend{
		dir: abs, opts: opts, loc: loc,
		health: HealthOK, restartMode: opts.Restart, updateBreak: opts.UnhealthyAfterUpdate, llmOK: true,
		traffic: Traffic{Error5xxPct: 0.3, Slow: 3 * time.Second},
		rng:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
	if err := b.layout(); err != nil {
		return nil, err
	}
	svcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("standin: listen: %w", err)
	}
	b.svcAddr = svcLn.Addr().String()
	b.ctlLn, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		svcLn.Close()
		return nil, fmt.Errorf("standin: listen control: %w", err)
	}
	b.closeCtx, b.closeStop = context.WithCancel(context.WithoutCancel(ctx))
	b.ctlSrv = &http.Server{Handler: b.controlHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = b.ctlSrv.Serve(b.ctlLn) }()
	b.mu.Lock()
	err = b.startLocked(svcLn)
	b.mu.Unlock()
	if err != nil {
		b.Close()
		return nil, err
	}
	b.adoptServiceUser()
	if err := b.writePID(os.Getpid()); err != nil {
		b.Close()
		return nil, err
	}
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-b.closeCtx.Done():
		}
	}()
	return b, nil
}

// Dir is the backend's root folder.
func (b *Backend) Dir() string { return b.dir }

// URL is the service's base URL (its /health is the target's health URL).
func (b *Backend) URL() string { return "http://" + b.svcAddr }

// ControlURL is the always-up control listener's base URL.
func (b *Backend) ControlURL() string { return "http://" + b.ctlLn.Addr().String() }

// DBPath is the served SQLite database.
func (b *Backend) DBPath() string { return filepath.Join(b.dir, "data", "ai_tutor.db") }

// LogPath is the file of the named log (app, error, access, llm, performance, security).
func (b *Backend) LogPath(name string) string { return filepath.Join(b.dir, "logs", name+".log") }

// UploadsDir is the uploads folder.
func (b *Backend) UploadsDir() string { return filepath.Join(b.dir, "uploads") }

// BackupDir is where the target's backups go.
func (b *Backend) BackupDir() string { return filepath.Join(b.dir, "backups") }

// Rows is how many rows the writer has inserted since Start.
func (b *Backend) Rows() int64 { return b.rows.Load() }

// State reports what the backend is doing.
func (b *Backend) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state
	s.Running, s.Health, s.Rows = b.running, b.health, b.rows.Load()
	return s
}

// SetHealth makes /health answer as h; delay is used by HealthSlow.
func (b *Backend) SetHealth(h Health, delay time.Duration) error {
	switch h {
	case HealthOK, HealthFail, HealthSlow:
	default:
		return fmt.Errorf("standin: unknown health mode %q (want ok, fail or slow)", h)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.health, b.slowDelay = h, delay
	return nil
}

// SetRestart sets how the restart action behaves.
func (b *Backend) SetRestart(m RestartMode) error {
	switch m {
	case RestartOK, RestartHang, RestartUnhealthy:
	default:
		return fmt.Errorf("standin: unknown restart mode %q (want ok, hang or unhealthy)", m)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.restartMode = m
	return nil
}

// SetUpdateBreaks makes an update leave /health failing until a rollback.
func (b *Backend) SetUpdateBreaks(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.updateBreak = on
}

// SetLLM makes the fake LLM vendor endpoint answer 200 (ok) or 503.
func (b *Backend) SetLLM(ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.llmOK = ok
}

// SetTraffic shapes the continuously written access log.
func (b *Backend) SetTraffic(t Traffic) {
	if t.Slow <= 0 {
		t.Slow = 3 * time.Second
	}
	b.logMu.Lock()
	defer b.logMu.Unlock()
	b.traffic = t
}

// Stop stops the service: /health refuses connections, writers pause and
// the database is closed.
func (b *Backend) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopLocked()
}

// Start starts a stopped service again on the same address.
func (b *Backend) Start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("standin: closed")
	}
	if b.running {
		return nil
	}
	ln, err := net.Listen("tcp", b.svcAddr)
	if err != nil {
		return fmt.Errorf("standin: listen again on %s: %w", b.svcAddr, err)
	}
	if err := b.startLocked(ln); err != nil {
		return err
	}
	// A service started afresh writes its pid file, as uvicorn's does.
	return b.writePID(os.Getpid())
}

// Restart stops the service, waits StartDelay and starts it again (health
// failing afterwards when the restart mode is RestartUnhealthy).
func (b *Backend) Restart() error {
	if b.opts.OnRestart != nil {
		b.opts.OnRestart()
	}
	b.Stop()
	if !b.sleep(b.opts.StartDelay) {
		return errors.New("standin: closed")
	}
	b.mu.Lock()
	b.state.Restarts++
	if b.restartMode == RestartUnhealthy {
		b.health = HealthFail
	} else if b.health == HealthFail {
		// A fresh process is healthy again: the fault was in the old one.
		b.health = HealthOK
	}
	b.mu.Unlock()
	return b.Start()
}

// Close stops everything. It is safe to call more than once.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.stopLocked()
	b.mu.Unlock()
	b.closeStop()
	_ = b.Clear() // the fault's holder process, memory and temp files
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = b.ctlSrv.Shutdown(ctx)
	_ = b.ctlSrv.Close()
	b.bg.Wait()
	return nil
}

// sleep waits d unless the backend closes first.
func (b *Backend) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.closeCtx.Done():
		return false
	}
}

func (b *Backend) startLocked(ln net.Listener) error {
	db, err := openDB(b.DBPath())
	if err != nil {
		ln.Close()
		return err
	}
	b.db = db
	b.svc = &http.Server{Handler: b.serviceHandler(), ReadHeaderTimeout: 5 * time.Second}
	srv := b.svc
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(b.closeCtx)
	b.runStop = cancel
	b.runWG.Add(2)
	go func() { defer b.runWG.Done(); b.writeRows(ctx, db) }()
	go func() { defer b.runWG.Done(); b.writeLogs(ctx) }()
	b.running = true
	b.opts.Log.Info("stand-in started", "url", b.URL())
	return nil
}

func (b *Backend) stopLocked() {
	if !b.running {
		return
	}
	b.running = false
	_ = b.svc.Close()
	b.runStop()
	b.runWG.Wait()
	_ = b.db.Close()
	b.db = nil
	b.opts.Log.Info("stand-in stopped")
}

// Target is a target configuration pointing at this backend, with every
// field filled (config defaults are not applied to it).
func (b *Backend) Target() config.Target {
	ctl := func(action string) []string {
		argv := append([]string{b.opts.Self}, b.opts.CtlArgs...)
		return append(argv, b.ControlURL(), action)
	}
	logs := map[string]config.LogFile{}
	for _, l := range logNames {
		logs[l.name] = config.LogFile{Path: b.LogPath(l.name), Format: l.format, Timezone: b.opts.Timezone}
	}
	return config.Target{
		Name:           b.opts.Name,
		HealthURL:      b.URL() + "/health",
		HealthTimeout:  2 * time.Second,
		Workdir:        b.dir,
		Restart:        ctl("restart"),
		Stop:           ctl("stop"),
		Start:          ctl("start"),
		Update:         ctl("update"),
		Rollback:       ctl("rollback"),
		CommandTimeout: b.opts.CommandTimeout,
		HealthDeadline: b.opts.HealthDeadline,
		Logs:           logs,
		LogMaxAge:      10 * time.Minute,
		Database:       config.Database{Driver: "sqlite", Path: b.DBPath()},
		Redis:          config.Redis{Addr: b.opts.RedisAddr},
		LLM:            config.LLM{URL: b.ControlURL() + "/llm/v1/models", Timeout: 3 * time.Second},
		UploadsDir:     b.UploadsDir(),
		TempDir:        filepath.Join(b.dir, "temp"),
		Backup: config.Backup{
			Dir:         b.BackupDir(),
			ConfigPaths: []string{".env", "nginx", "monitoring"},
			Retention:   30 * 24 * time.Hour,
			Prefix:      "ai_tutor",
		},
		Cleanup: config.Cleanup{GzipAfter: 7 * 24 * time.Hour, DeleteGzAfter: 30 * 24 * time.Hour, TempAfter: 24 * time.Hour},
		Service: config.Service{PIDFile: b.PIDFile(), Port: b.port(), User: ServiceUser(), Status: ctl("status")},
	}
}
