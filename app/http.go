package app

import (
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"opsbot/config"
)

// newServer is the listener's server with the configured timeouts: a
// client that trickles its headers or body, never reads the answer, or
// keeps an idle connection open does not hold a goroutine for ever.
func newServer(cfg *config.Config, h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       cfg.HTTP.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// platformOf names the platform whose endpoint path is ("" for the others:
// health and metrics are cheap and must answer under load).
func platformOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/slack/"):
		return "slack"
	case strings.HasPrefix(path, "/discord/"):
		return "discord"
	case strings.HasPrefix(path, "/webhooks/alertmanager"):
		return "alertmanager"
	}
	return ""
}

// inFlight bounds the requests served at once per platform. The bound is
// read from the configuration at each request, so a reload changes it.
type inFlight struct {
	cfg     func() *config.Config
	n       map[string]*atomic.Int64
	refused *prometheus.CounterVec
}

func newInFlight(cfg func() *config.Config) *inFlight {
	return &inFlight{
		cfg: cfg,
		n:   map[string]*atomic.Int64{"slack": {}, "discord": {}, "alertmanager": {}},
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_http_busy_total", Help: "Requests refused with 503 because a platform's bound of requests at once was reached.",
		}, []string{"platform"}),
	}
}

func (f *inFlight) limit(platform string) int {
	m := f.cfg().HTTP.MaxInFlight
	switch platform {
	case "slack":
		return m.Slack
	case "discord":
		return m.Discord
	case "alertmanager":
		return m.Alertmanager
	}
	return 0
}

// serve runs h unless the platform already has its bound of requests in
// flight; then it answers 503 with Retry-After at once, without reading the
// body. Slack and Discord show the user a failure; Alertmanager retries.
func (f *inFlight) serve(w http.ResponseWriter, r *http.Request, platform string, h http.Handler) {
	n := f.n[platform]
	if n == nil {
		h.ServeHTTP(w, r)
		return
	}
	if n.Add(1) > int64(f.limit(platform)) {
		n.Add(-1)
		f.refused.WithLabelValues(platform).Inc()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy: too many "+platform+" requests at once; retry in a second", http.StatusServiceUnavailable)
		return
	}
	defer n.Add(-1)
	h.ServeHTTP(w, r)
}
