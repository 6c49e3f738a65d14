package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/fleet"
	"opsbot/notifier"
	"opsbot/ops"
	"opsbot/remediate"
	"opsbot/rules"
	"opsbot/standin"
)

// Agent runs `opsbot agent`: one per host of a fleet, on the PostgreSQL
// store the bot uses. It has no chat tokens and no listener but /healthz
// and /metrics; it registers and heartbeats the host, samples it, runs its
// local monitors (observations to the pipeline's inbox, tagged with the
// host) and works the host's action queue.
func Agent(ctx context.Context, cfg *config.Config, opts Options) error {
	if cfg.Store.Driver != "postgres" {
		return errors.New("agent mode needs the shared PostgreSQL store (store.driver: postgres); SQLite serves one host only")
	}
	log, closing := newLogger(cfg, opts.Stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	// Hundreds of agents share one server: each keeps few connections
	// (its queue's poll, heartbeats and samples, one action at a time).
	st.DB.SetMaxOpenConns(4)
	st.DB.SetMaxIdleConns(2)
	if err := remediate.MigrateQueue(ctx, st, log); err != nil {
		return err
	}
	name := fleet.HostName(cfg)
	if cfg.Demo {
		// A host of its own to try a fleet on one machine: the stand-in
		// backend as target api, every action allowed.
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		b, err := standin.Start(context.WithoutCancel(ctx), filepath.Join(dataDir(cfg), "demo-"+name), standin.Options{Name: "api", Self: self, Log: log})
		if err != nil {
			return fmt.Errorf("demo: start the stand-in backend: %w", err)
		}
		defer b.Close()
		c := *cfg
		c.Targets = []config.Target{b.Target()}
		c.Agent.Allow = map[string][]string{"api": config.AgentActions}
		cfg = &c
	}
	var cur = cfg
	conf := func() *config.Config { return cur }
	// Secrets the agent knows never leave it in output or observations.
	var pats []*regexp.Regexp
	for _, p := range cfg.Redact.Patterns {
		if re, err := regexp.Compile(p); err == nil {
			pats = append(pats, re)
		}
	}
	red := chat.NewRedactor(cfg.All(), pats)
	// The agent only appends to the inbox; the leader's pipeline applies it.
	n := notifier.New(st, chat.NewRouter(), conf, log)
	n.Redact = red.Redact
	sink := fleet.HostSink{Sink: n.Source("agent:" + name), Host: name, Labels: cfg.Agent.Labels}
	host := ops.NewHost("/")
	eng, err := rules.FromConfig(cfg, rules.Deps{Sink: sink, Host: host, Log: log, Redact: red.Redact})
	if err != nil {
		return err
	}
	ag := &fleet.Agent{Store: st, Config: conf, Version: opts.Version, Host: host, Actions: ops.NewActions(st, log),
		Monitors: eng, Log: log, Redact: red.Redact}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "opsbot_build_info", Help: "Build information."}, []string{"version", "goversion"})
	bi.WithLabelValues(opts.Version, goVersion()).Set(1)
	reg.MustRegister(bi)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		checks := map[string]string{}
		status, code := "ok", http.StatusOK
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			checks["store"], status, code = "failing: "+err.Error(), "failing", http.StatusServiceUnavailable
		} else {
			checks["store"] = "ok"
		}
		if ok, detail := ag.Healthy(); ok {
			checks["agent"] = "ok"
		} else {
			checks["agent"] = "failing: " + detail
			status, code = "failing", http.StatusServiceUnavailable
		}
		writeHealth(w, code, status, checks)
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	srv := newServer(cfg, mux)
	if opts.Ready != nil {
		opts.Ready(ln.Addr().String())
	}
	log.Info("opsbot agent", "host", name, "addr", ln.Addr().String(), "version", opts.Version)
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
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	g.Go(func() error {
		err := ag.Run(gctx)
		if err == nil && ctx.Err() == nil {
			err = errors.New("agent stopped")
		}
		return err
	})
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}
