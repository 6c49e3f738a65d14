package standin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// serviceHandler is the backend's own API: /health as the guide's
// `curl http://localhost:8000/health`.
func (b *Backend) serviceHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		h, delay, version := b.health, b.slowDelay, b.state.Version
		b.mu.Unlock()
		switch h {
		case HealthFail:
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unhealthy", "error": "database connection failed", "version": version})
			return
		case HealthSlow:
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "healthy", "version": version, "rows": b.rows.Load()})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"service": "ai-tutor (stand-in)"})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func ctlError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

// controlHandler serves the control endpoints (always up, even when the
// service is stopped) and a fake LLM vendor endpoint:
//
//	POST /ctl/stop | /ctl/start | /ctl/restart | /ctl/update | /ctl/rollback
//	POST /ctl/health?mode=ok|fail|slow&delay=3s
//	POST /ctl/burst?kind=errors|logins|5xx|slow|llm|flood|secrets&n=20&ip=203.0.113.66
//	POST /ctl/traffic?error5xx_pct=10&slow_pct=20&slow=3s
//	POST /ctl/mode?restart=ok|hang|unhealthy&update_breaks=true|false&llm=ok|fail
//	GET  /ctl/state
//	GET  /llm/v1/models   (200, or 503 when the LLM is made to fail)
func (b *Backend) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ctl/state", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, b.State())
	})
	mux.HandleFunc("GET /ctl/status", func(w http.ResponseWriter, r *http.Request) {
		// As deploy.sh status: fails while the service is down.
		st := b.State()
		if !st.Running {
			writeJSON(w, http.StatusServiceUnavailable, st)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /ctl/stop", func(w http.ResponseWriter, r *http.Request) {
		b.Stop()
		writeJSON(w, http.StatusOK, map[string]string{"result": "stopped"})
	})
	mux.HandleFunc("POST /ctl/start", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Start(); err != nil {
			ctlError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": "started"})
	})
	mux.HandleFunc("POST /ctl/restart", func(w http.ResponseWriter, r *http.Request) {
		if b.opts.OnRestart != nil {
			b.opts.OnRestart()
		}
		b.mu.Lock()
		mode := b.restartMode
		if mode == RestartHang {
			b.state.Hangs++
		}
		b.mu.Unlock()
		if mode == RestartHang {
			// Like a deploy script stuck on a lock: the caller must kill it.
			select {
			case <-r.Context().Done():
			case <-b.closeCtx.Done():
			}
			return
		}
		b.comeBackLater(func() {
			b.state.Restarts++
			if mode == RestartUnhealthy {
				b.health = HealthFail
			} else if b.health == HealthFail {
				// A fresh process is healthy again: the fault was in the old one.
				b.health = HealthOK
			}
		})
		writeJSON(w, http.StatusOK, map[string]string{"result": "restarting"})
	})
	mux.HandleFunc("POST /ctl/update", func(w http.ResponseWriter, r *http.Request) {
		b.comeBackLater(func() {
			b.state.Updates++
			b.state.Version++
			if b.updateBreak {
				b.health = HealthFail
			}
		})
		writeJSON(w, http.StatusOK, map[string]string{"result": "updating"})
	})
	mux.HandleFunc("POST /ctl/rollback", func(w http.ResponseWriter, r *http.Request) {
		b.comeBackLater(func() {
			b.state.Rollbacks++
			if b.state.Version > 0 {
				b.state.Version--
			}
			b.health = HealthOK
		})
		writeJSON(w, http.StatusOK, map[string]string{"result": "rolling back"})
	})
	mux.HandleFunc("POST /ctl/health", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var delay time.Duration
		if d := q.Get("delay"); d != "" {
			var err error
			if delay, err = time.ParseDuration(d); err != nil || delay < 0 {
				ctlError(w, http.StatusBadRequest, "bad delay %q", d)
				return
			}
		}
		if err := b.SetHealth(Health(q.Get("mode")), delay); err != nil {
			ctlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": "health " + q.Get("mode")})
	})
	mux.HandleFunc("POST /ctl/burst", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n := 20
		if s := q.Get("n"); s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil {
				ctlError(w, http.StatusBadRequest, "bad n %q", s)
				return
			}
		}
		if err := b.Burst(BurstKind(q.Get("kind")), n, q.Get("ip")); err != nil {
			ctlError(w, http.StatusBadRequest, "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"result": fmt.Sprintf("wrote %d %s lines", n, q.Get("kind"))})
	})
	mux.HandleFunc("POST /ctl/traffic", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var t Traffic
		var err error
		if s := q.Get("error5xx_pct"); s != "" {
			if t.Error5xxPct, err = strconv.ParseFloat(s, 64); err != nil {
				ctlError(w, http.StatusBadRequest, "bad error5xx_pct %q", s)
				return
			}
		}
		if s := q.Get("slow_pct"); s != "" {
			if t.SlowPct, err = strconv.ParseFloat(s, 64); err != nil {
				ctlError(w, http.StatusBadRequest, "bad slow_pct %q", s)
				return
			}
		}
		if s := q.Get("slow"); s != "" {
			if t.Slow, err = time.ParseDuration(s); err != nil {
				ctlError(w, http.StatusBadRequest, "bad slow %q", s)
				return
			}
		}
		b.SetTraffic(t)
		writeJSON(w, http.StatusOK, map[string]string{"result": "traffic set"})
	})
	mux.HandleFunc("POST /ctl/mode", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if s := q.Get("restart"); s != "" {
			if err := b.SetRestart(RestartMode(s)); err != nil {
				ctlError(w, http.StatusBadRequest, "%v", err)
				return
			}
		}
		if s := q.Get("update_breaks"); s != "" {
			on, err := strconv.ParseBool(s)
			if err != nil {
				ctlError(w, http.StatusBadRequest, "bad update_breaks %q", s)
				return
			}
			b.SetUpdateBreaks(on)
		}
		if s := q.Get("llm"); s != "" {
			if s != "ok" && s != "fail" {
				ctlError(w, http.StatusBadRequest, "bad llm %q (want ok or fail)", s)
				return
			}
			b.SetLLM(s == "ok")
		}
		writeJSON(w, http.StatusOK, b.State())
	})
	mux.HandleFunc("GET /llm/v1/models", func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		ok := b.llmOK
		b.mu.Unlock()
		if !ok {
			ctlError(w, http.StatusServiceUnavailable, "vendor unavailable")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": []map[string]string{{"id": "tutor-large"}}})
	})
	return mux
}

// comeBackLater stops the service now and starts it again after
// StartDelay, applying change (under mu) just before the start, as a
// deploy script that returns while the service boots.
func (b *Backend) comeBackLater(change func()) {
	b.Stop()
	b.bg.Add(1)
	go func() {
		defer b.bg.Done()
		if !b.sleep(b.opts.StartDelay) {
			return
		}
		b.mu.Lock()
		change()
		b.mu.Unlock()
		if err := b.Start(); err != nil {
			b.opts.Log.Error("stand-in did not come back", "err", err)
		}
	}()
}

// CtlMain is the stand-in's control client, the process that the target's
// restart/stop/start/update/rollback argv run:
//
//	opsbot standin-ctl <control-url> <action> [key=value…]
//
// It prints the answer and returns 0 when the stand-in accepted it.
func CtlMain(args []string) int {
	return ctl(args, os.Stdout, os.Stderr)
}

func ctl(args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "hold-port" {
		return holdPortMain(args[1], os.Stdin, stdout, stderr)
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, "usage: standin-ctl <control-url> <action> [key=value…]")
		return 2
	}
	base, action := strings.TrimRight(args[0], "/"), args[1]
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "standin-ctl: not a control URL: %q\n", args[0])
		return 2
	}
	if strings.ContainsAny(action, "/?#") || action == "" {
		fmt.Fprintf(stderr, "standin-ctl: bad action %q\n", action)
		return 2
	}
	q := url.Values{}
	for _, kv := range args[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(stderr, "standin-ctl: want key=value, got %q\n", kv)
			return 2
		}
		q.Set(k, v)
	}
	method := http.MethodPost
	if action == "state" || action == "status" {
		method = http.MethodGet
	}
	target := base + "/ctl/" + action
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "standin-ctl: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "standin-ctl: %s %s\n", action, base)
	// No client timeout: the caller (RunArgv) owns the deadline, and a
	// hanging restart must hang here.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "standin-ctl: %s: %v\n", action, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%s", body)
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "standin-ctl: %s: status %d\n", action, resp.StatusCode)
		return 1
	}
	return 0
}
