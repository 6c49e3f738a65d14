// Package discord is the Discord adapter: it receives /ops interactions
// (HTTP interactions endpoint or the Gateway), hands them to the command
// registry, renders the answers as Discord messages, and posts alerts as a
// chat.Poster. It only translates: parsing, roles, rate limits,
// confirmations, redaction and audit live in commands.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"opsbot/bot/inbound"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/cenkalti/backoff/v5"
	"github.com/gorilla/websocket"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"opsbot/commands"
	"opsbot/config"
)

// Platform is the platform name in requests, refs and config addresses.
const Platform = "discord"

// CommandName is the one slash command opsbot registers.
const CommandName = "ops"

var routeLibraryLog sync.Once

// Option configures an Adapter.
type Option func(*Adapter)

// WithHTTPClient sets the client for every REST call. discordgo's endpoint
// strings are fixed at init, so tests (and proxies) reach another server by a
// transport that rewrites scheme and host.
func WithHTTPClient(c *http.Client) Option { return func(a *Adapter) { a.client = c } }

// WithDialer sets the websocket dialer of the Gateway connection.
func WithDialer(d *websocket.Dialer) Option { return func(a *Adapter) { a.dialer = d } }

// WithClock sets the clock used for signature freshness and progress pacing.
func WithClock(now func() time.Time) Option { return func(a *Adapter) { a.now = now } }

// WithBackoff sets the first and the longest wait between attempts to
// register commands or connect the Gateway.
func WithBackoff(initial, max time.Duration) Option {
	return func(a *Adapter) { a.backoffMin, a.backoffMax = initial, max }
}

// WithAckDeadline sets how long a fast verb may run before the interaction
// is answered with a deferred response instead (Discord allows 3 s in all).
func WithAckDeadline(d time.Duration) Option { return func(a *Adapter) { a.ackDeadline = d } }

// WithFreshness sets how far a signed timestamp may be from now.
func WithFreshness(d time.Duration) Option { return func(a *Adapter) { a.freshness = d } }

// Adapter connects Discord to the command registry.
type Adapter struct {
	cfg    func() *config.Config
	reg    *commands.Registry
	log    *slog.Logger
	client *http.Client
	dialer *websocket.Dialer
	now    func() time.Time

	backoffMin, backoffMax time.Duration
	ackDeadline            time.Duration
	freshness              time.Duration

	replay  *inbound.Replay
	threads *expirable.LRU[string, struct{}]

	keyMu  sync.Mutex
	keyRaw string
	key    ed25519.PublicKey

	sessMu    sync.Mutex
	sess      *discordgo.Session
	sessToken string

	specMu  sync.Mutex
	spec    *spec
	specKey string

	healthMu sync.Mutex
	problems map[string]string

	workMu     sync.Mutex
	closed     bool
	work       sync.WaitGroup
	workCtx    context.Context
	workCancel context.CancelFunc

	refusals *logLimiter

	// sources of autocomplete candidates by kind.
	sources map[string]Source
}

// New makes an adapter. cfg is read on every use, so reloaded settings and
// secrets apply without a restart.
func New(cfg func() *config.Config, reg *commands.Registry, log *slog.Logger, opts ...Option) *Adapter {
	if log == nil {
		log = slog.Default()
	}
	a := &Adapter{
		cfg:         cfg,
		reg:         reg,
		log:         log.With("platform", Platform),
		dialer:      websocket.DefaultDialer,
		now:         time.Now,
		backoffMin:  2 * time.Second,
		backoffMax:  5 * time.Minute,
		ackDeadline: 2 * time.Second,
		freshness:   5 * time.Minute,
		problems:    map[string]string{},
	}
	for _, o := range opts {
		o(a)
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: 20 * time.Second}
		if base := cfg().Discord.APIURL; base != "" {
			if rt, err := NewRedirectTransport(base, nil); err == nil {
				a.client.Transport = rt
			} else {
				a.log.Error("discord.api_url ignored", "err", err)
			}
		}
	}
	// Every REST call speaks API v10, whatever client was given.
	c := *a.client
	c.Transport = apiV10{next: c.Transport}
	a.client = &c
	// A signature seen once is refused until its timestamp is stale anyway.
	a.replay = inbound.NewReplay(200_000, 2*a.freshness+time.Minute)
	a.threads = expirable.NewLRU[string, struct{}](10_000, nil, 24*time.Hour)
	a.workCtx, a.workCancel = context.WithCancel(context.Background())
	a.refusals = &logLimiter{every: 10 * time.Second}
	return a
}

// configured reports whether the secrets needed to talk to Discord are set.
func (a *Adapter) configured() bool {
	s := a.cfg().Secrets
	return s.DiscordBotToken != "" && s.DiscordAppID != ""
}

// session returns the REST session for the current bot token.
func (a *Adapter) session() (*discordgo.Session, error) {
	if a.cfg().Secrets.DiscordBotToken == "" {
		return nil, errors.New("no DISCORD_BOT_TOKEN configured")
	}
	return a.hookSession(), nil
}

// hookSession is the session for interaction callbacks and webhooks, which
// Discord authenticates by the interaction token: it works without a bot
// token too.
func (a *Adapter) hookSession() *discordgo.Session {
	token := a.cfg().Secrets.DiscordBotToken.Reveal()
	a.sessMu.Lock()
	defer a.sessMu.Unlock()
	if a.sess == nil || a.sessToken != token {
		a.sess, a.sessToken = a.newSession(token), token
	}
	return a.sess
}

func (a *Adapter) newSession(token string) *discordgo.Session {
	if token != "" && !strings.HasPrefix(token, "Bot ") {
		token = "Bot " + token
	}
	routeLibraryLog.Do(func() {
		// discordgo logs through log.Printf; we log our own one line per
		// state change, so its lines are debug detail.
		discordgo.Logger = func(level, caller int, format string, args ...any) {
			slog.Default().Debug("discordgo: "+fmt.Sprintf(format, args...), "level", level)
		}
	})
	s, _ := discordgo.New(token) // New never fails
	s.Client = a.client
	s.Dialer = a.dialer
	// One attempt per call: waiting and retrying live in our callers, and
	// discordgo's own 429 retry has no cap.
	s.ShouldRetryOnRateLimit = false
	s.MaxRestRetries = 0
	s.StateEnabled = false
	s.Identify.Intents = discordgo.IntentsGuilds
	return s
}

// restOpts are the options of every REST call: one attempt, cancellable.
func restOpts(ctx context.Context) []discordgo.RequestOption {
	return []discordgo.RequestOption{discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false), discordgo.WithRestRetries(0)}
}

// publicKey parses DISCORD_PUBLIC_KEY (hex), caching the result.
func (a *Adapter) publicKey() (ed25519.PublicKey, error) {
	raw := strings.TrimSpace(a.cfg().Secrets.DiscordPublicKey.Reveal())
	a.keyMu.Lock()
	defer a.keyMu.Unlock()
	if a.key != nil && raw == a.keyRaw {
		return a.key, nil
	}
	if raw == "" {
		return nil, errors.New("no DISCORD_PUBLIC_KEY configured")
	}
	b, err := hex.DecodeString(raw)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("DISCORD_PUBLIC_KEY is not a 64-digit hex Ed25519 key")
	}
	a.key, a.keyRaw = ed25519.PublicKey(b), raw
	return a.key, nil
}

// Healthy reports whether Discord is reachable as configured, and why not.
func (a *Adapter) Healthy() (bool, string) {
	if !a.configured() {
		return true, "discord: not configured"
	}
	a.healthMu.Lock()
	defer a.healthMu.Unlock()
	var bad []string
	if a.cfg().Discord.Mode != "gateway" {
		if _, err := a.publicKey(); err != nil {
			bad = append(bad, "endpoint: "+err.Error())
		}
	}
	for _, k := range []string{"commands", "gateway"} {
		if p := a.problems[k]; p != "" {
			bad = append(bad, k+": "+p)
		}
	}
	if len(bad) > 0 {
		return false, "discord: degraded: " + strings.Join(bad, "; ")
	}
	return true, "discord: ok (" + a.cfg().Discord.Mode + " mode)"
}

// setHealth records the state of one part and logs one line when it changes.
func (a *Adapter) setHealth(part string, err error) {
	a.healthMu.Lock()
	prev := a.problems[part]
	now := ""
	if err != nil {
		now = err.Error()
	}
	a.problems[part] = now
	a.healthMu.Unlock()
	switch {
	case now != "" && prev == "":
		a.log.Warn("discord degraded; retrying", "part", part, "err", now)
	case now == "" && prev != "":
		a.log.Info("discord recovered", "part", part)
	}
}

// Run registers /ops and, in gateway mode, keeps the Gateway connected. It
// never fails because Discord is unreachable or refuses the token: it
// reports degraded through Healthy and keeps retrying. It returns after ctx
// ends and every interaction still being answered has finished.
func (a *Adapter) Run(ctx context.Context) error {
	defer a.shutdown()
	if !a.configured() {
		a.log.Info("discord disabled: DISCORD_BOT_TOKEN or DISCORD_APP_ID not set")
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.registerLoop(ctx) }()
	if a.cfg().Discord.Mode == "gateway" {
		wg.Add(1)
		go func() { defer wg.Done(); a.gatewayLoop(ctx) }()
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// shutdown cancels unfinished interactions and waits for them.
func (a *Adapter) shutdown() {
	a.workMu.Lock()
	a.closed = true
	a.workMu.Unlock()
	a.workCancel()
	a.work.Wait()
}

// goWork runs fn in a tracked goroutine; false once the adapter has stopped.
func (a *Adapter) goWork(fn func()) bool {
	a.workMu.Lock()
	defer a.workMu.Unlock()
	if a.closed {
		return false
	}
	a.work.Add(1)
	go func() { defer a.work.Done(); fn() }()
	return true
}

// Register overwrites the application's commands with /ops built from the
// registry's verbs: to the guild when discord.guild_id is set (instant, for
// testing), else globally. A bulk overwrite is idempotent: registering
// again replaces the set rather than adding to it.
func (a *Adapter) Register(ctx context.Context) error {
	s, err := a.session()
	if err != nil {
		return fmt.Errorf("register discord commands: %w", err)
	}
	appID := a.cfg().Secrets.DiscordAppID.Reveal()
	if appID == "" {
		return errors.New("register discord commands: no DISCORD_APP_ID configured")
	}
	cmd := a.commandSpec().cmd
	if _, err := s.ApplicationCommandBulkOverwrite(appID, a.cfg().Discord.GuildID, []*discordgo.ApplicationCommand{cmd}, restOpts(ctx)...); err != nil {
		return fmt.Errorf("register discord commands: %w", classify(err))
	}
	return nil
}

func (a *Adapter) registerLoop(ctx context.Context) {
	bo := a.newBackoff()
	for {
		err := a.Register(ctx)
		if ctx.Err() != nil {
			return
		}
		a.setHealth("commands", err)
		if err == nil {
			scope := "globally"
			if g := a.cfg().Discord.GuildID; g != "" {
				scope = "in guild " + g
			}
			a.log.Info("discord commands registered", "command", "/"+CommandName, "scope", scope)
			return
		}
		wait := bo.NextBackOff()
		if errors.Is(err, errPermanent) {
			// A refused token will not fix itself soon; Discord bans clients
			// that pile up 401s.
			wait = a.backoffMax
		}
		if !sleepCtx(ctx, wait) {
			return
		}
	}
}

func (a *Adapter) newBackoff() *backoff.ExponentialBackOff {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = a.backoffMin
	bo.MaxInterval = a.backoffMax
	bo.Reset()
	return bo
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// NewRedirectTransport returns a transport that sends every request for
// discord.com to base instead (scheme, host and an optional path prefix),
// for discord.api_url and for tests against a local fake.
func NewRedirectTransport(base string, next http.RoundTripper) (http.RoundTripper, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(base, "/"), "/api/v"+APIVersion), "/api/v9"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("discord api url %q: want http(s)://host[:port]", base)
	}
	if next == nil {
		next = http.DefaultTransport
	}
	return redirect{base: u, next: next}, nil
}

type redirect struct {
	base *url.URL
	next http.RoundTripper
}

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.base.Scheme, r.base.Host
	req.URL.Path = strings.TrimSuffix(r.base.Path, "/") + req.URL.Path
	req.Host = r.base.Host
	return r.next.RoundTrip(req)
}

// APIVersion is the Discord API version opsbot speaks. discordgo v0.29
// builds its REST endpoints for v9 when it is loaded; apiV10 rewrites them
// on the way out. The Gateway reads discordgo.APIVersion when it connects,
// so it is set once here, before any session exists.
const APIVersion = "10"

func init() { discordgo.APIVersion = APIVersion }

const (
	libraryPrefix = "/api/v9/"
	apiPrefix     = "/api/v" + APIVersion + "/"
)

// apiV10 moves discordgo's /api/v9 requests to /api/v10.
type apiV10 struct{ next http.RoundTripper }

func (t apiV10) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	if strings.HasPrefix(req.URL.Path, libraryPrefix) {
		req = req.Clone(req.Context())
		req.URL.Path = apiPrefix + strings.TrimPrefix(req.URL.Path, libraryPrefix)
		if req.URL.RawPath != "" {
			req.URL.RawPath = apiPrefix + strings.TrimPrefix(req.URL.RawPath, libraryPrefix)
		}
	}
	return next.RoundTrip(req)
}

// logLimiter lets one line through per period, so forged requests cannot
// flood the log.
type logLimiter struct {
	mu    sync.Mutex
	every time.Duration
	last  time.Time
}

func (l *logLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.last) < l.every && !l.last.IsZero() {
		return false
	}
	l.last = now
	return true
}
