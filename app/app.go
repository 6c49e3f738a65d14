// Package app wires opsbot together and runs its lifecycle: it is the only
// package that builds concrete things. Every component has Run(ctx) error;
// shutdown is bounded.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"opsbot/alert"
	"opsbot/bot/console"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/fleet"
	"opsbot/remediate"
	"opsbot/standin"
	"opsbot/store"
	demoverbs "opsbot/verbs/demo"
)

// Options are how the binary was started.
type Options struct {
	Version     string
	ConfigPath  string
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
	Interactive bool
	// Ready, when set, receives the listener's address once serving (tests).
	Ready func(addr string)
}

// App is the wired bot.
type App struct {
	opts    Options
	cfg     atomic.Pointer[config.Config]
	log     *slog.Logger
	store   *store.Store
	reg     *commands.Registry
	router  *chat.Router
	console *console.Poster
	metrics *prometheus.Registry

	healthMu sync.Mutex
	health   map[string]func() (bool, string)

	demo *standin.Backend // the stand-in, with --demo

	fleet *fleet.Dispatcher // with fleet.enabled

	runners []func(ctx context.Context) error
	// reloaders apply a reloaded configuration to components that copied
	// parts of it (rule thresholds, job schedules).
	reloaders []func(*config.Config)
	// preparers build what a reloaded configuration needs (checks, rules)
	// before it is applied: an error refuses the reload whole; the commits
	// they return run with the swap.
	preparers []func(*config.Config) (commit func(), err error)
	reloadMu  sync.Mutex // one reload at a time
	// reloadSink hears a refused reload (and the good one after it).
	reloadSink    alert.Sink
	reloadRefused atomic.Bool
	routes        map[string]http.Handler
	closers       []func()
	inFlight      *inFlight
	// verbs are the command names a configuration may name (the registered
	// ones, and demo), fixed once wired.
	verbs []string
}

// Config returns the configuration in force (reloaded on SIGHUP).
func (a *App) Config() *config.Config { return a.cfg.Load() }

// newLogger makes the bot's logger. Once closing is set (shutdown began),
// records whose error is only the cancellation of shutdown are dropped:
// work cut short on the way out is no failure worth a line.
func newLogger(cfg *config.Config, w io.Writer) (log *slog.Logger, closing *atomic.Bool) {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	ho := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, ho)
	if cfg.Log.Format == "json" {
		h = slog.NewJSONHandler(w, ho)
	}
	closing = &atomic.Bool{}
	return slog.New(shutdownFilter{h, closing}), closing
}

type shutdownFilter struct {
	slog.Handler
	closing *atomic.Bool
}

func (f shutdownFilter) Handle(ctx context.Context, r slog.Record) error {
	if f.closing.Load() {
		cancelled := false
		r.Attrs(func(a slog.Attr) bool {
			v := a.Value.Resolve()
			if err, ok := v.Any().(error); ok && errors.Is(err, context.Canceled) {
				cancelled = true
			} else if v.Kind() == slog.KindString && strings.HasSuffix(v.String(), context.Canceled.Error()) {
				cancelled = true
			}
			return !cancelled
		})
		if cancelled {
			return nil
		}
	}
	return f.Handler.Handle(ctx, r)
}

func (f shutdownFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return shutdownFilter{f.Handler.WithAttrs(as), f.closing}
}

func (f shutdownFilter) WithGroup(name string) slog.Handler {
	return shutdownFilter{f.Handler.WithGroup(name), f.closing}
}

// openStore opens and migrates the store.
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN.Reveal())
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Migrate applies the store's migrations and prints what it did.
func Migrate(ctx context.Context, cfg *config.Config, out io.Writer) error {
	st, err := store.Open(ctx, cfg.Store.Driver, cfg.Store.DSN.Reveal())
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	// The action queue's own tables.
	if err := remediate.MigrateQueue(ctx, st, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	v, err := st.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "store %s at version %d (%d migration(s) applied)\n", cfg.Store.Driver, v, len(applied))
	return nil
}

// build wires every component on an open store.
func build(ctx context.Context, cfg *config.Config, st *store.Store, opts Options, log *slog.Logger, shell bool) (*App, error) {
	a := &App{opts: opts, log: log, store: st, router: chat.NewRouter(), metrics: prometheus.NewRegistry(),
		health: map[string]func() (bool, string){}, routes: map[string]http.Handler{}}
	a.cfg.Store(cfg)
	a.console = console.NewPoster(opts.Stdout)
	a.console.FileDir = filepath.Join(dataDir(cfg), "files")
	a.router.Set("console", a.console)
	a.reg = commands.NewRegistry(a.Config, st, log)
	// Everything opsbot posts on its own passes the same redactor as replies.
	a.router.SetRedactor(a.reg.Redactor)
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics.MustRegister(a.reg.Collectors()...)
	a.inFlight = newInFlight(a.Config)
	a.metrics.MustRegister(a.inFlight.refused)
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "opsbot_build_info", Help: "Build information."}, []string{"version", "goversion"})
	bi.WithLabelValues(opts.Version, goVersion()).Set(1)
	a.metrics.MustRegister(bi)
	if err := a.wire(ctx, shell); err != nil {
		a.close()
		return nil, err
	}
	if a.demo == nil {
		// A role may name the demo verb for the runs that have it.
		a.reg.Declare(demoverbs.Verbs(nil)...)
	}
	// The loader could check verb names only by their shape; now that the
	// commands are known, a role, channel rule or limit naming one that does
	// not exist (a typo that would grant nothing) is said at start.
	probs, notes := a.reg.CheckConfig(cfg)
	if len(probs) > 0 {
		log.Error("configuration problems", "problems", strings.Join(probs, "; "))
	}
	if !shell {
		for _, n := range notes {
			log.Warn(n)
		}
	}
	return a, nil
}

// CheckPolicy checks the verb names cfg uses (roles, channels.verbs,
// confirm.two_person, rate_limits.verbs) against the commands this build
// registers, the demo verb included, and returns the problems with their
// key paths and the notes worth saying (no admin configured for chat). It
// wires the bot with the defaults on a throwaway store.
func CheckPolicy(ctx context.Context, cfg *config.Config) (problems, notes []string, err error) {
	reg, err := Registry(ctx)
	if err != nil {
		return nil, nil, err
	}
	problems, notes = reg.CheckConfig(cfg)
	return problems, notes, nil
}

// Registry returns the command registry as this build wires it, every
// verb registered (demo declared), on a throwaway store: what `config
// check` and the tests of the policy's entries consult.
func Registry(ctx context.Context) (*commands.Registry, error) {
	dir, err := os.MkdirTemp("", "opsbot-verbs")
	if err != nil {
		return nil, fmt.Errorf("list commands: %w", err)
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.Store.DSN = config.Secret(filepath.Join(dir, "opsbot.db"))
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("list commands: %w", err)
	}
	defer st.Close()
	a, err := build(ctx, cfg, st, Options{Stdout: io.Discard}, slog.New(slog.DiscardHandler), true)
	if err != nil {
		return nil, fmt.Errorf("list commands: %w", err)
	}
	defer a.close()
	return a.reg, nil
}

func (a *App) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func dataDir(cfg *config.Config) string {
	if cfg.Store.Driver == "sqlite" {
		return filepath.Dir(cfg.Store.DSN.Reveal())
	}
	return "data"
}

// Shell runs the console adapter.
func Shell(ctx context.Context, cfg *config.Config, opts Options) error {
	// The terminal is for replies; the bot's own log says only what is wrong.
	lc := *cfg
	if lc.Log.Level == "info" {
		lc.Log.Level = "warn"
	}
	log, closing := newLogger(&lc, opts.Stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := build(ctx, cfg, st, opts, log, true)
	if err != nil {
		return err
	}
	defer a.close()
	user := os.Getenv("USER")
	if user == "" {
		user = "local"
	}
	sh := &console.Shell{Registry: a.reg, Poster: a.console, In: opts.Stdin, User: user, Interactive: opts.Interactive}
	if opts.Interactive {
		a.console.Write(chat.Message{Text: fmt.Sprintf("opsbot %s shell — `help` lists the commands, `quit` or Ctrl-D leaves", opts.Version)})
	}
	runCtx, cancel := context.WithCancel(ctx)
	g, gctx := errgroup.WithContext(runCtx)
	// A terminal session also runs the background work (when no `serve`
	// holds the lease), so its alerts and automatic actions show above the
	// prompt. Piped commands only run the commands: a one-shot pipe starts
	// no catch-up backup it would cut short, and what it posts waits in the
	// outbox for the next delivery worker.
	if opts.Interactive {
		for _, r := range a.runners {
			g.Go(func() error { return quiet(r(gctx)) })
		}
	}
	err = sh.Run(ctx)
	closing.Store(true)
	cancel()
	waitBounded(g, 5*time.Second, log)
	return err
}

// Serve runs the bot until ctx ends. It never fails because a chat
// platform is unreachable; a store that cannot be reached is reported on
// /healthz and retried.
func Serve(ctx context.Context, cfg *config.Config, opts Options) error {
	log, closing := newLogger(cfg, opts.Stderr)
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	var (
		mu      sync.Mutex
		app     *App
		storeOK = "connecting"
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a, sres := app, storeOK
		mu.Unlock()
		if a == nil {
			writeHealth(w, http.StatusServiceUnavailable, "failing", map[string]string{"store": sres})
			return
		}
		a.serveHealth(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		a := app
		mu.Unlock()
		if a == nil {
			http.Error(w, "starting: store not reachable yet", http.StatusServiceUnavailable)
			return
		}
		a.serveRoutes(w, r)
	})
	srv := newServer(cfg, mux)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		closing.Store(true)
		if ctx.Err() != nil {
			log.Info("shutting down", "within", 5*time.Second)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	log.Info("opsbot serving", "addr", ln.Addr().String(), "version", opts.Version, "store", cfg.Store.Driver, "demo", cfg.Demo)
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	g.Go(func() error {
		var st *store.Store
		for wait := time.Second; ; wait = min(wait*2, 30*time.Second) {
			var err error
			if st, err = openStore(gctx, cfg); err == nil {
				break
			}
			mu.Lock()
			storeOK = "unreachable: " + err.Error()
			mu.Unlock()
			log.Error("store unreachable; retrying", "err", err.Error(), "in", wait)
			select {
			case <-gctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		defer st.Close()
		a, err := build(gctx, cfg, st, opts, log, false)
		if err != nil {
			if gctx.Err() != nil {
				return nil // stopped while starting: not a failure
			}
			return err
		}
		defer a.close()
		mu.Lock()
		app = a
		mu.Unlock()
		return a.run(gctx)
	})
	return g.Wait()
}

// run starts every component and the SIGHUP reloader, and waits.
func (a *App) run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range a.runners {
		g.Go(func() error { return quiet(r(gctx)) })
	}
	g.Go(func() error {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-hup:
				a.Reload()
			}
		}
	})
	<-gctx.Done()
	waitBounded(g, 5*time.Second, a.log)
	return nil
}

// Reload reads the configuration file again: a valid one replaces the old,
// an invalid one is refused with its problems logged.
func (a *App) Reload() bool { return a.reload() == nil }

// ReloadConfig reads the configuration file again and applies it at once
// to everything (one pointer swap: checks, rules, routes, inhibitions and
// monitors read it from there), or refuses it whole, keeping the old
// running, and returns every problem found.
func (a *App) ReloadConfig() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	old := a.Config()
	if old.Path == "" {
		a.log.Info("reload: no configuration file; nothing to do")
		return errors.New("no configuration file to reload (started without --config)")
	}
	cfg, err := config.Load(old.Path)
	if err != nil {
		a.log.Error("reload refused; keeping the old configuration", "err", err.Error())
		return fmt.Errorf("reload refused, the old configuration runs on: %w", err)
	}
	if probs, _ := a.reg.CheckConfig(cfg); len(probs) > 0 {
		lined := config.WithLines(cfg.Path, probs)
		a.log.Error("reload refused; keeping the old configuration", "err", lined.Error())
		return fmt.Errorf("reload refused, the old configuration runs on: %w", lined)
	}
	cfg.Demo = old.Demo
	cfg = a.adjust(cfg)
	var commits []func()
	for _, p := range a.preparers {
		commit, err := p(cfg)
		if err != nil {
			a.log.Error("reload refused; keeping the old configuration", "err", err.Error())
			return fmt.Errorf("reload refused, the old configuration runs on: %w", err)
		}
		commits = append(commits, commit)
	}
	a.cfg.Store(cfg)
	for _, c := range commits {
		c()
	}
	for _, r := range a.reloaders {
		r(cfg)
	}
	a.log.Info("configuration reloaded", "path", old.Path, "targets", len(cfg.Targets))
	if keys := restartKeys(old, cfg); len(keys) > 0 {
		a.log.Warn("reload: these settings take effect at the next start", "keys", strings.Join(keys, ", "))
	}
	return nil
}

// restartKeys lists the changed settings a running bot cannot take over:
// the listener, the store, the lease and the chat platforms' connections.
func restartKeys(old, cur *config.Config) []string {
	var keys []string
	for _, k := range []struct {
		name string
		same bool
	}{
		{"http.addr", old.HTTP.Addr == cur.HTTP.Addr},
		{"http timeouts", old.HTTP.ReadHeaderTimeout == cur.HTTP.ReadHeaderTimeout && old.HTTP.ReadTimeout == cur.HTTP.ReadTimeout &&
			old.HTTP.WriteTimeout == cur.HTTP.WriteTimeout && old.HTTP.IdleTimeout == cur.HTTP.IdleTimeout},
		{"store.driver", old.Store.Driver == cur.Store.Driver},
		{"store.dsn", old.Store.DSN == cur.Store.DSN},
		{"leader.ttl", old.Leader.TTL == cur.Leader.TTL},
		{"slack.api_url", old.Slack.APIURL == cur.Slack.APIURL},
		{"discord", old.Discord.APIURL == cur.Discord.APIURL && old.Discord.Mode == cur.Discord.Mode && old.Discord.GuildID == cur.Discord.GuildID},
		// Commands see new targets at once; the log monitors and scans were
		// built per target at start.
		{"targets (for log monitors and security scans)", reflect.DeepEqual(old.Targets, cur.Targets)},
	} {
		if !k.same {
			keys = append(keys, k.name)
		}
	}
	return keys
}

func (a *App) serveRoutes(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		promhttp.HandlerFor(a.metrics, promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}
	if h, ok := a.routes[r.URL.Path]; ok {
		a.inFlight.serve(w, r, platformOf(r.URL.Path), h)
		return
	}
	http.NotFound(w, r)
}

func (a *App) serveHealth(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	status, code := "ok", http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		checks["store"] = "failing: " + err.Error()
		status, code = "failing", http.StatusServiceUnavailable
	} else {
		checks["store"] = "ok"
	}
	a.healthMu.Lock()
	for name, f := range a.health {
		ok, detail := f()
		if ok {
			checks[name] = "ok"
			continue
		}
		checks[name] = "degraded: " + detail
		if status == "ok" {
			status = "degraded"
		}
	}
	a.healthMu.Unlock()
	writeHealth(w, code, status, checks)
}

// addHealth registers a component's health for /healthz.
func (a *App) addHealth(name string, f func() (bool, string)) {
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	a.health[name] = f
}

func quiet(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func waitBounded(g *errgroup.Group, d time.Duration, log *slog.Logger) {
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			log.Error("component stopped with an error", "err", err)
		}
	case <-time.After(d):
		log.Warn("shutdown took too long; leaving", "after", d)
	}
}
