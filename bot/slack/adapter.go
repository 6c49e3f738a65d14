// Package slack connects opsbot to Slack: slash commands and button clicks
// arrive over HTTP (signed requests) or Socket Mode, go to the commands
// registry, and its answers are rendered as Block Kit. The Poster sends
// messages, thread replies, edits and files for alerts and incidents. It
// only translates: parsing, roles, confirmations and audit live in commands.
package slack

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"opsbot/bot/forms"
	"opsbot/commands"
	"opsbot/config"
)

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Adapter is the Slack side of opsbot.
type Adapter struct {
	cfg func() *config.Config
	reg *commands.Registry
	log *slog.Logger

	// lists are the sources of the forms' lists (WithFormList).
	lists map[string]func(context.Context) ([]forms.Choice, error)

	now           func() time.Time
	hc            *http.Client
	verify        *verifier
	fastBudget    time.Duration
	progressEvery time.Duration
	pacePer       time.Duration
	paceBurst     int
	maxPaceWait   time.Duration
	retryMin      time.Duration
	retryMax      time.Duration
	pingInterval  time.Duration

	// bg carries work that outlives the request that started it (slow
	// verbs, clicks); Run cancels it on shutdown and waits for it.
	bg     context.Context
	stopBg context.CancelFunc
	wg     sync.WaitGroup
	bmu    sync.Mutex
	closed bool // set before wg.Wait, so no Add races it

	hmu      sync.Mutex
	problems map[string]string
	// workspace is auth.test's workspace URL, for message links.
	workspace atomic.Pointer[string]
	// notes are per-channel failures shown in the status without making
	// Slack unhealthy: one misconfigured channel is not an outage.
	notes map[string]string

	lmu      sync.Mutex
	limiters map[string]*rate.Limiter
}

// Option changes an Adapter made by New.
type Option func(*Adapter)

// WithClock sets the clock used for signature windows and response_url
// bookkeeping (tests).
func WithClock(now func() time.Time) Option { return func(a *Adapter) { a.now = now } }

// WithHTTPClient sets the client for the Web API and response_url posts.
func WithHTTPClient(c *http.Client) Option { return func(a *Adapter) { a.hc = c } }

// WithFastBudget sets how long a fast verb may take before its answer is
// moved from the inline reply to response_url (default 2 s of Slack's 3 s).
func WithFastBudget(d time.Duration) Option { return func(a *Adapter) { a.fastBudget = d } }

// WithProgressInterval sets the least time between two progress updates
// through one response_url (default 10 s).
func WithProgressInterval(d time.Duration) Option { return func(a *Adapter) { a.progressEvery = d } }

// WithPace sets the per-channel pace of posts: one per `per`, bursts of
// `burst`; per 0 turns pacing off. Default one a second, bursts of 3.
func WithPace(per time.Duration, burst int) Option {
	return func(a *Adapter) { a.pacePer, a.paceBurst = per, burst }
}

// WithRetryBackoff sets the reconnect backoff of Run (default 1 s to 5 min).
func WithRetryBackoff(min, max time.Duration) Option {
	return func(a *Adapter) { a.retryMin, a.retryMax = min, max }
}

// WithSocketPingInterval sets how long Socket Mode waits for Slack's ping
// before reconnecting (default 30 s).
func WithSocketPingInterval(d time.Duration) Option {
	return func(a *Adapter) { a.pingInterval = d }
}

// New makes an adapter. Tokens, the signing secret and the API URL are read
// from cfg() at each use, so a reloaded configuration takes effect.
func New(cfg func() *config.Config, reg *commands.Registry, log *slog.Logger, opts ...Option) *Adapter {
	if log == nil {
		log = slog.Default()
	}
	a := &Adapter{
		cfg:           cfg,
		reg:           reg,
		log:           log.With("platform", "slack"),
		now:           time.Now,
		hc:            &http.Client{Timeout: 15 * time.Second},
		fastBudget:    2 * time.Second,
		progressEvery: 10 * time.Second,
		pacePer:       time.Second,
		paceBurst:     3,
		maxPaceWait:   3 * time.Second,
		retryMin:      time.Second,
		retryMax:      5 * time.Minute,
		pingInterval:  30 * time.Second,
		problems:      map[string]string{},
		notes:         map[string]string{},
		limiters:      map[string]*rate.Limiter{},
	}
	for _, o := range opts {
		o(a)
	}
	a.bg, a.stopBg = context.WithCancel(context.Background())
	a.verify = newVerifier(func() string { return a.cfg().Secrets.SlackSigningSecret.Reveal() }, a.now)
	return a
}

// apiURL is the configured Web API base, ending in a slash as slack-go wants.
func (a *Adapter) apiURL() string {
	u := a.cfg().Slack.APIURL
	if u == "" {
		return DefaultAPIURL
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// api is a client for the current token; it is cheap to make, so a token
// change needs no restart.
func (a *Adapter) api() *slack.Client {
	c := a.cfg()
	return slack.New(c.Secrets.SlackBotToken.Reveal(),
		slack.OptionAPIURL(a.apiURL()),
		slack.OptionHTTPClient(a.hc),
		slack.OptionAppLevelToken(c.Secrets.SlackAppToken.Reveal()),
	)
}

// Healthy reports whether Slack is reachable with the configured tokens,
// and what is wrong when it is not.
func (a *Adapter) Healthy() (bool, string) {
	a.hmu.Lock()
	defer a.hmu.Unlock()
	var notes []string
	for ch, v := range a.notes {
		notes = append(notes, "channel "+ch+": "+v)
	}
	sort.Strings(notes)
	if len(a.problems) == 0 {
		c := a.cfg()
		if c.Secrets.SlackBotToken == "" && c.Secrets.SlackAppToken == "" {
			return true, "slack not configured"
		}
		return true, strings.Join(append([]string{"ok"}, notes...), "; ")
	}
	var out []string
	for k, v := range a.problems {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return false, strings.Join(append(out, notes...), "; ")
}

// note records (msg != "") or clears a channel's last permanent failure.
func (a *Adapter) note(channel, msg string) {
	a.hmu.Lock()
	old, had := a.notes[channel]
	if msg == "" {
		delete(a.notes, channel)
	} else {
		a.notes[channel] = msg
	}
	a.hmu.Unlock()
	if msg != "" && old != msg {
		a.log.Error("slack cannot post to channel", "channel", channel, "problem", msg)
	} else if msg == "" && had {
		a.log.Info("slack posts to channel again", "channel", channel)
	}
}

// problem records (msg != "") or clears a component's fault, logging one
// line when the state changes rather than on every retry.
func (a *Adapter) problem(component, msg string) {
	a.hmu.Lock()
	old, had := a.problems[component]
	if msg == "" {
		delete(a.problems, component)
	} else {
		a.problems[component] = msg
	}
	a.hmu.Unlock()
	switch {
	case msg != "" && old != msg:
		a.log.Warn("slack degraded", "component", component, "problem", msg)
	case msg == "" && had:
		a.log.Info("slack recovered", "component", component)
	}
}

// background runs fn on the adapter's own context, counted so Run can wait.
func (a *Adapter) background(fn func(ctx context.Context)) {
	a.bmu.Lock()
	if a.closed {
		a.bmu.Unlock()
		// Shutting down: run on the cancelled context so callers waiting
		// for a result still get one.
		go fn(a.bg)
		return
	}
	a.wg.Add(1)
	a.bmu.Unlock()
	go func() {
		defer a.wg.Done()
		fn(a.bg)
	}()
}

// Run keeps the connection to Slack: Socket Mode when SLACK_APP_TOKEN is
// set, otherwise a token check for HTTP mode. It never fails because Slack
// is unreachable or refuses a token: it reports degraded and retries with
// backoff. It returns after ctx ends and the work it started has stopped.
func (a *Adapter) Run(ctx context.Context) error {
	defer func() {
		a.bmu.Lock()
		a.closed = true
		a.bmu.Unlock()
		a.stopBg()
		a.wg.Wait()
	}()
	c := a.cfg()
	if c.Secrets.SlackAppToken == "" && c.Secrets.SlackBotToken != "" && c.Secrets.SlackSigningSecret == "" {
		a.problem("http", "SLACK_SIGNING_SECRET not set: slash commands and clicks are refused (set it, or SLACK_APP_TOKEN for Socket Mode)")
	}
	var wg sync.WaitGroup
	if c.Secrets.SlackBotToken != "" {
		wg.Go(func() { a.checkAuth(ctx) })
	}
	if c.Secrets.SlackAppToken != "" {
		a.runSocket(ctx)
	} else {
		<-ctx.Done()
	}
	wg.Wait()
	return nil
}

func (a *Adapter) newBackoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = a.retryMin
	b.MaxInterval = a.retryMax
	return b
}

// sleep waits d or until ctx ends, reporting whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// checkAuth calls auth.test until the bot token is accepted.
func (a *Adapter) checkAuth(ctx context.Context) {
	b := a.newBackoff()
	for {
		res, err := a.api().AuthTestContext(ctx)
		if err == nil {
			a.problem("api", "")
			a.setWorkspace(res.URL)
			a.log.Info("slack token accepted", "bot", res.User, "team", res.Team)
			return
		}
		if ctx.Err() != nil {
			return
		}
		a.problem("api", "auth.test: "+err.Error())
		if !sleep(ctx, b.NextBackOff()) {
			return
		}
	}
}
