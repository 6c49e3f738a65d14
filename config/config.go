// Package config holds opsbot's configuration: structs, defaults in one
// place, a strict loader (YAML file, then OPSBOT_* environment, then secrets
// from their env vars or _FILE twins) and Validate, which returns every
// problem at once with its key path.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Secret is a value that must never be printed, logged or posted.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString keeps %#v from leaking it too.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON keeps secrets out of JSON dumps.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalYAML keeps secrets out of YAML dumps.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// Reveal returns the secret value itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration of opsbot.
type Config struct {
	HTTP        HTTP                `yaml:"http"`
	Store       Store               `yaml:"store"`
	Log         Log                 `yaml:"log"`
	Targets     []Target            `yaml:"targets"`
	Thresholds  Thresholds          `yaml:"thresholds"`
	Roles       map[string]Role     `yaml:"roles"`
	Channels    Channels            `yaml:"channels"`
	RateLimits  RateLimits          `yaml:"rate_limits"`
	Confirm     Confirm             `yaml:"confirm"`
	Redact      Redact              `yaml:"redact"`
	Slack       Slack               `yaml:"slack"`
	Discord     Discord             `yaml:"discord"`
	Rules       Rules               `yaml:"rules"`
	Notifier    Notifier            `yaml:"notifier"`
	Security    Security            `yaml:"security"`
	Schedules   map[string]Schedule `yaml:"schedules"`
	Remediation Remediation         `yaml:"remediation"`
	Leader      Leader              `yaml:"leader"`
	Incidents   Incidents           `yaml:"incidents"`
	// Alertmanager is the webhook receiver: open or closed, and which
	// external alerts may run an action.
	Alertmanager Alertmanager `yaml:"alertmanager"`
	Demo         bool         `yaml:"demo"`
	Diagnose     Diagnose     `yaml:"diagnose"`
	// Routing is the route tree, receivers and inhibition rules.
	Routing Routing `yaml:"routing"`
	// Paging is on-call rotations, escalation and outgoing pages.
	Paging Paging `yaml:"paging"`
	// Agent is `opsbot agent` on a host of a fleet; Fleet the bot's side.
	Agent Agent `yaml:"agent"`
	Fleet Fleet `yaml:"fleet"`
	// Display is how replies show times (one zone for every time shown).
	Display Display `yaml:"display"`
	// Locale is the language of replies and alerts (en | zh-CN); a channel
	// may choose its own with /ops locale.
	Locale string `yaml:"locale"`
	// Keywords the log monitors count, in both languages by default.
	Keywords Keywords `yaml:"keywords"`
	// Checks are user-defined probes whose samples rules judge.
	Checks []Check `yaml:"checks"`

	// Secrets come only from the environment (or _FILE twins), never from YAML.
	Secrets Secrets `yaml:"-"`
	// Path is the file this configuration was loaded from ("" = defaults).
	Path string `yaml:"-"`
}

// HTTP is the one listener.
type HTTP struct {
	Addr              string        `yaml:"addr"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	MaxBodyBytes      int64         `yaml:"max_body_bytes"`
	MaxInFlight       InFlight      `yaml:"max_in_flight"`
}

// InFlight bounds the requests served at once per platform's endpoints;
// one more is answered 503 with Retry-After, so a flood on one platform
// neither exhausts the bot nor starves the others.
type InFlight struct {
	Slack        int `yaml:"slack"`
	Discord      int `yaml:"discord"`
	Alertmanager int `yaml:"alertmanager"`
}

// Store picks the SQL store.
type Store struct {
	Driver    string    `yaml:"driver"` // sqlite | postgres
	DSN       Secret    `yaml:"dsn"`    // sqlite path or postgres URL; set a password only by OPSBOT_STORE_DSN
	Retention Retention `yaml:"retention"`
}

// Retention bounds the bot's own tables.
type Retention struct {
	Audit   time.Duration `yaml:"audit"`
	Samples time.Duration `yaml:"samples"`
	Outbox  time.Duration `yaml:"outbox"`
	Events  time.Duration `yaml:"events"`
	// Inbox keeps observations the pipeline applied (1,000 a second is
	// about 3 GiB an hour on PostgreSQL, so hours, not days).
	Inbox time.Duration `yaml:"inbox"`
}

// Log is the bot's own logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Target is one instance of the served backend.
type Target struct {
	Name          string        `yaml:"name"`
	HealthURL     string        `yaml:"health_url"`
	HealthTimeout time.Duration `yaml:"health_timeout"`
	Workdir       string        `yaml:"workdir"`
	// Actions are argv lists, never shell strings.
	Restart        []string           `yaml:"restart"`
	Stop           []string           `yaml:"stop"`
	Start          []string           `yaml:"start"`
	Update         []string           `yaml:"update"`
	Rollback       []string           `yaml:"rollback"`
	CommandTimeout time.Duration      `yaml:"command_timeout"`
	HealthDeadline time.Duration      `yaml:"health_deadline"`
	Logs           map[string]LogFile `yaml:"logs"`
	LogMaxAge      time.Duration      `yaml:"log_max_age"`
	Database       Database           `yaml:"database"`
	Redis          Redis              `yaml:"redis"`
	LLM            LLM                `yaml:"llm"`
	UploadsDir     string             `yaml:"uploads_dir"`
	TempDir        string             `yaml:"temp_dir"`
	Backup         Backup             `yaml:"backup"`
	Cleanup        Cleanup            `yaml:"cleanup"`
	// Env names variables of opsbot's environment passed on to the
	// target's actions, beyond PATH, HOME, LANG and TZ.
	Env []string `yaml:"env"`
	// Service finds the target's process and its user (diagnosis).
	Service Service `yaml:"service"`
}

// LogFile declares one log: where, in which format, in which time zone.
type LogFile struct {
	Path     string `yaml:"path"`
	Format   string `yaml:"format"`   // nginx_combined | nginx_timed | app_iso | regexp:<re with named groups>
	Timezone string `yaml:"timezone"` // IANA name; default Local
}

// LogFormats are the presets a log may declare.
var LogFormats = []string{"nginx_combined", "nginx_timed", "app_iso"}

// Database of the served backend.
type Database struct {
	Driver string   `yaml:"driver"` // sqlite | postgres
	Path   string   `yaml:"path"`   // sqlite file
	DSN    Secret   `yaml:"dsn"`    // postgres
	Dump   []string `yaml:"dump"`   // argv for pg_dump; the output file is appended
}

// Redis of the served backend.
type Redis struct {
	Addr       string `yaml:"addr"`
	DB         int    `yaml:"db"`
	Password   Secret `yaml:"password"`
	AllowFlush bool   `yaml:"allow_flushall"`
}

// LLM is the vendor API the backend calls.
type LLM struct {
	URL     string        `yaml:"url"`
	Timeout time.Duration `yaml:"timeout"`
}

// Backup of a target.
type Backup struct {
	Dir         string        `yaml:"dir"`
	ConfigPaths []string      `yaml:"config_paths"`
	Retention   time.Duration `yaml:"retention"`
	Offsite     []string      `yaml:"offsite"` // argv run after a verified backup; the set's folder is appended
	Prefix      string        `yaml:"prefix"`
	// Timeout bounds each external command of a backup (database.dump, offsite).
	Timeout time.Duration `yaml:"timeout"`
}

// Cleanup of a target's logs and temp files.
type Cleanup struct {
	GzipAfter     time.Duration `yaml:"gzip_after"`
	DeleteGzAfter time.Duration `yaml:"delete_gz_after"`
	TempAfter     time.Duration `yaml:"temp_after"`
}

// Threshold is a metric's normal bound and alert bound. For metrics where
// lower is worse (LLM success rate) Alert < Normal.
type Threshold struct {
	Normal float64 `yaml:"normal"`
	Alert  float64 `yaml:"alert"`
}

// Thresholds are the seed's table.
type Thresholds struct {
	ResponseTimeMS Threshold `yaml:"response_time_ms"`
	Error5xxPct    Threshold `yaml:"error_5xx_pct"`
	CPUPct         Threshold `yaml:"cpu_pct"`
	MemoryPct      Threshold `yaml:"memory_pct"`
	DiskPct        Threshold `yaml:"disk_pct"`
	LLMSuccessPct  Threshold `yaml:"llm_success_pct"`
}

// Role grants verbs to users. Users are "slack:U123", "discord:123456",
// "discord-role:7890" or "shell:name"; verbs are named as the grammar names
// them ("backup restore", or "backup" for all of its subcommands), a bare
// subcommand unique across verbs ("restore"), or "*". The roles operator
// and admin without verbs grant their defaults (package policy).
type Role struct {
	Users []string `yaml:"users"`
	Verbs []string `yaml:"verbs"`
	// SilenceMax bounds a silence set by this role (default 24h; 168h for admin).
	SilenceMax time.Duration `yaml:"silence_max"`
}

// Channels says where commands are accepted and where things are posted.
// A channel is written "platform:id" (slack:C0123, discord:1234, console).
type Channels struct {
	Allow []string `yaml:"allow"` // empty: every channel
	// Verbs limits what may run in a channel (help and whoami always may);
	// a channel not named here allows every verb.
	Verbs         map[string][]string `yaml:"verbs"`
	Incident      string              `yaml:"incident"`
	Subscriptions []Subscription      `yaml:"subscriptions"` // seeded into the store at start
}

// Subscription of a channel to alert kinds.
type Subscription struct {
	Channel     string   `yaml:"channel"`
	Kinds       []string `yaml:"kinds"`
	MinSeverity string   `yaml:"min_severity"`
	Oncall      string   `yaml:"oncall"`
}

// RateLimit is N commands per period.
type RateLimit struct {
	Count int           `yaml:"count"`
	Per   time.Duration `yaml:"per"`
}

// RateLimits per user: a default and per-verb overrides.
type RateLimits struct {
	Default RateLimit            `yaml:"default"`
	Verbs   map[string]RateLimit `yaml:"verbs"`
}

// Confirm governs confirmations of dangerous verbs.
type Confirm struct {
	TTL       time.Duration `yaml:"ttl"`
	TwoPerson []string      `yaml:"two_person"` // verbs whose confirmer must differ from the requester
}

// Redact lists extra patterns (RE2) removed from text before it is posted.
type Redact struct {
	Patterns []string `yaml:"patterns"`
}

// Slack platform settings. Tokens are secrets from the environment.
type Slack struct {
	APIURL string `yaml:"api_url"`
}

// Discord platform settings.
type Discord struct {
	APIURL  string `yaml:"api_url"`
	Mode    string `yaml:"mode"` // http | gateway
	GuildID string `yaml:"guild_id"`
	Archive int    `yaml:"thread_archive_minutes"`
}

// Leader lease for several replicas on one PostgreSQL. The leader renews
// every third of TTL (so one renewal may fail) and stops its work a tenth of
// TTL before the lease can expire; a dead leader is replaced within 1.1 TTL.
type Leader struct {
	TTL time.Duration `yaml:"ttl"`
}

// Secrets, from env vars or files named by their _FILE twins.
type Secrets struct {
	SlackBotToken      Secret
	SlackSigningSecret Secret
	SlackAppToken      Secret
	DiscordBotToken    Secret
	DiscordPublicKey   Secret
	DiscordAppID       Secret
	AlertmanagerToken  Secret
	// Paging holds each paging integration's secret, by integration name.
	Paging map[string]Secret
}

// All returns every configured secret value, for redaction.
func (c *Config) All() []string {
	var out []string
	// Any length: a short secret is still a secret.
	for _, s := range []Secret{c.Secrets.SlackBotToken, c.Secrets.SlackSigningSecret, c.Secrets.SlackAppToken,
		c.Secrets.DiscordBotToken, c.Secrets.DiscordPublicKey, c.Secrets.AlertmanagerToken} {
		if s != "" {
			out = append(out, s.Reveal())
		}
	}
	dsnPassword := func(dsn Secret) {
		if strings.Contains(dsn.Reveal(), "@") {
			if u, err := url.Parse(dsn.Reveal()); err == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && p != "" {
					out = append(out, p)
				}
			}
		}
	}
	for _, t := range c.Targets {
		if t.Redis.Password != "" {
			out = append(out, t.Redis.Password.Reveal())
		}
		dsnPassword(t.Database.DSN)
	}
	dsnPassword(c.Store.DSN)
	for _, name := range sortedKeys(c.Secrets.Paging) {
		if s := c.Secrets.Paging[name]; s != "" {
			out = append(out, s.Reveal())
		}
	}
	return out
}

// Target returns the target with the given name.
func (c *Config) Target(name string) (Target, bool) {
	for _, t := range c.Targets {
		if t.Name == name {
			return t, true
		}
	}
	// Names are case-insensitive ("API-1" is api-1).
	for _, t := range c.Targets {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Target{}, false
}

// TargetNames lists the configured targets in order.
func (c *Config) TargetNames() []string {
	out := make([]string, len(c.Targets))
	for i, t := range c.Targets {
		out[i] = t.Name
	}
	return out
}

// Default returns the built-in defaults: SQLite in ./data, listener on
// 127.0.0.1:8080, the seed's thresholds, schedules and automation.
func Default() *Config {
	c := &Config{
		HTTP: HTTP{Addr: "127.0.0.1:8080", ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
			WriteTimeout: 15 * time.Second, IdleTimeout: 2 * time.Minute, MaxBodyBytes: 1 << 20,
			MaxInFlight: InFlight{Slack: 64, Discord: 64, Alertmanager: 16}},
		Store: Store{Driver: "sqlite", DSN: "./data/opsbot.db", Retention: Retention{Audit: 90 * 24 * time.Hour, Samples: 48 * time.Hour, Outbox: 7 * 24 * time.Hour, Events: 365 * 24 * time.Hour, Inbox: time.Hour}},
		Log:   Log{Level: "info", Format: "text"},
		Thresholds: Thresholds{
			ResponseTimeMS: Threshold{Normal: 500, Alert: 2000},
			Error5xxPct:    Threshold{Normal: 1, Alert: 5},
			CPUPct:         Threshold{Normal: 70, Alert: 85},
			MemoryPct:      Threshold{Normal: 80, Alert: 90},
			DiskPct:        Threshold{Normal: 80, Alert: 90},
			LLMSuccessPct:  Threshold{Normal: 95, Alert: 90},
		},
		RateLimits: RateLimits{Default: RateLimit{Count: 30, Per: time.Minute}, Verbs: map[string]RateLimit{"restart": {Count: 3, Per: time.Hour}, "update": {Count: 3, Per: time.Hour}}},
		Confirm:    Confirm{TTL: 5 * time.Minute},
		Discord:    Discord{Mode: "http", Archive: 1440},
		Leader:     Leader{TTL: 20 * time.Second},
	}
	c.Rules.setDefaults()
	c.Notifier.setDefaults()
	c.Security.setDefaults()
	c.Remediation.setDefaults()
	c.Incidents.setDefaults()
	c.Schedules = defaultSchedules()
	c.Diagnose.setDefaults()
	c.Agent.setDefaults()
	c.Fleet.setDefaults()
	c.Locale = "en"
	c.Keywords.setDefaults()
	return c
}

// TargetDefaults fills a target's unset fields.
func (t *Target) setDefaults() {
	if t.HealthTimeout == 0 {
		t.HealthTimeout = 2 * time.Second
	}
	if t.CommandTimeout == 0 {
		t.CommandTimeout = 2 * time.Minute
	}
	if t.HealthDeadline == 0 {
		t.HealthDeadline = 60 * time.Second
	}
	if t.LogMaxAge == 0 {
		t.LogMaxAge = time.Hour
	}
	if t.Database.Driver == "" {
		t.Database.Driver = "sqlite"
	}
	if t.LLM.Timeout == 0 {
		t.LLM.Timeout = 3 * time.Second
	}
	if t.Backup.Retention == 0 {
		t.Backup.Retention = 30 * 24 * time.Hour
	}
	if t.Backup.ConfigPaths == nil {
		t.Backup.ConfigPaths = []string{".env", "nginx", "monitoring"}
	}
	if t.Backup.Prefix == "" {
		t.Backup.Prefix = "ai_tutor"
	}
	if t.Backup.Timeout == 0 {
		t.Backup.Timeout = time.Hour
	}
	if t.Cleanup.GzipAfter == 0 {
		t.Cleanup.GzipAfter = 7 * 24 * time.Hour
	}
	if t.Cleanup.DeleteGzAfter == 0 {
		t.Cleanup.DeleteGzAfter = 30 * 24 * time.Hour
	}
	if t.Cleanup.TempAfter == 0 {
		t.Cleanup.TempAfter = 24 * time.Hour
	}
	for name, l := range t.Logs {
		if l.Timezone == "" {
			l.Timezone = "Local"
		}
		if l.Format == "" {
			l.Format = "app_iso"
		}
		t.Logs[name] = l
	}
}

// Load reads the YAML file at path (none when path is ""), applies OPSBOT_*
// environment overrides and secrets, fills defaults and validates. The
// returned error is Problems when the configuration is invalid.
func Load(path string) (*Config, error) {
	return LoadEnv(path, environ())
}

// LoadEnv is Load with an explicit environment (tests).
func LoadEnv(path string, env map[string]string) (*Config, error) {
	c := Default()
	c.Path = path
	var probs Problems
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		if err := decodeYAML(bytes.NewReader(data), c, &probs); err != nil {
			return nil, err
		}
	}
	applyEnv(reflect.ValueOf(c).Elem(), "OPSBOT", "", env, &probs)
	loadSecrets(c, env, &probs)
	for i := range c.Targets {
		c.Targets[i].setDefaults()
	}
	c.Paging.setDefaults()
	checkEnvValues(c, env, &probs)
	probs = append(probs, c.Validate()...)
	if len(probs) > 0 {
		if path != "" {
			if data, err := os.ReadFile(path); err == nil {
				probs = withLines(data, probs)
			}
		}
		return c, probs
	}
	return c, nil
}

func decodeYAML(r io.Reader, c *Config, probs *Problems) error {
	var root yaml.Node
	dec := yaml.NewDecoder(r)
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("parse config: %w", err)
	}
	// Schedules replace the defaults key by key, so keep the defaults map.
	decodeNode(&root, reflect.ValueOf(c).Elem(), "", probs)
	return nil
}

func loadSecrets(c *Config, env map[string]string, probs *Problems) {
	get := func(name string) Secret {
		if v := env[name]; v != "" {
			return Secret(v)
		}
		if f := env[name+"_FILE"]; f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				probs.add(name+"_FILE", "cannot read secret file: %v", errors.Unwrap(err))
				return ""
			}
			return Secret(strings.TrimSpace(string(b)))
		}
		return ""
	}
	c.Secrets = Secrets{
		SlackBotToken:      get("SLACK_BOT_TOKEN"),
		SlackSigningSecret: get("SLACK_SIGNING_SECRET"),
		SlackAppToken:      get("SLACK_APP_TOKEN"),
		DiscordBotToken:    get("DISCORD_BOT_TOKEN"),
		DiscordPublicKey:   get("DISCORD_PUBLIC_KEY"),
		DiscordAppID:       get("DISCORD_APP_ID"),
		AlertmanagerToken:  get("OPSBOT_ALERTMANAGER_TOKEN"),
	}
	for name := range c.Paging.Integrations {
		if s := get(PagingSecretEnv(name)); s != "" {
			if c.Secrets.Paging == nil {
				c.Secrets.Paging = map[string]Secret{}
			}
			c.Secrets.Paging[name] = s
		}
		if s := get(PagingWebhookSecretEnv(name)); s != "" {
			if c.Secrets.Paging == nil {
				c.Secrets.Paging = map[string]Secret{}
			}
			c.Secrets.Paging[WebhookSecretKey(name)] = s
		}
	}
	if env["OPSBOT_STORE_DSN"] == "" {
		if f := env["OPSBOT_STORE_DSN_FILE"]; f != "" {
			c.Store.DSN = get("OPSBOT_STORE_DSN")
		}
	}
}

// verbNameRE is the shape of a verb name ("restart", "backup restore",
// "*"). Whether the verb exists is the policy's to say: it knows the verbs
// (commands.Registry.CheckConfig).
var verbNameRE = regexp.MustCompile(`^(\*|[a-z][a-z-]*( [a-z][a-z-]*)*)$`)

// Validate returns every problem of c, each with its key path.
func (c *Config) Validate() Problems {
	var p Problems
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		p.add("http.addr", "not host:port: %q", c.HTTP.Addr)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"read_header_timeout", c.HTTP.ReadHeaderTimeout}, {"read_timeout", c.HTTP.ReadTimeout}, {"write_timeout", c.HTTP.WriteTimeout}, {"idle_timeout", c.HTTP.IdleTimeout}} {
		if d.v <= 0 {
			p.add("http."+d.key, "must be positive")
		}
	}
	// Slack and Discord want an answer within 3 s: a shorter write timeout
	// would cut answers the bot is still allowed to give.
	if c.HTTP.WriteTimeout > 0 && c.HTTP.WriteTimeout < 5*time.Second {
		p.add("http.write_timeout", "must be at least 5s (chat platforms wait up to 3s for an answer)")
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"slack", c.HTTP.MaxInFlight.Slack}, {"discord", c.HTTP.MaxInFlight.Discord}, {"alertmanager", c.HTTP.MaxInFlight.Alertmanager}} {
		if n.v <= 0 {
			p.add("http.max_in_flight."+n.key, "must be positive")
		}
	}
	switch c.Store.Driver {
	case "sqlite", "postgres":
	default:
		p.add("store.driver", "unknown driver %q (want sqlite or postgres)", c.Store.Driver)
	}
	if c.Store.DSN == "" {
		p.add("store.dsn", "empty")
	}
	if c.Store.Retention.Samples < 24*time.Hour {
		p.add("store.retention.samples", "must be at least 24h (the monitor shows the last day)")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "unknown level %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.add("log.format", "unknown format %q (want text or json)", c.Log.Format)
	}
	seen := map[string]bool{}
	for i, t := range c.Targets {
		path := fmt.Sprintf("targets[%d]", i)
		if t.Name == "" {
			p.add(path+".name", "missing")
		} else if seen[t.Name] {
			p.add(path+".name", "duplicate target %q", t.Name)
		}
		seen[t.Name] = true
		if t.HealthURL == "" {
			p.add(path+".health_url", "missing")
		} else if u, err := url.Parse(t.HealthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(path+".health_url", "not an http(s) URL: %q", t.HealthURL)
		}
		for name, l := range t.Logs {
			lp := path + ".logs." + name
			if l.Path == "" {
				p.add(lp+".path", "missing")
			}
			if err := CheckLogFormat(l.Format); err != nil {
				p.add(lp+".format", "%v", err)
			}
			if _, err := time.LoadLocation(l.Timezone); err != nil {
				p.add(lp+".timezone", "unknown time zone %q", l.Timezone)
			}
		}
		switch t.Database.Driver {
		case "sqlite", "postgres":
		default:
			p.add(path+".database.driver", "unknown driver %q", t.Database.Driver)
		}
		if t.Backup.Timeout < 0 || t.Backup.Retention < 0 {
			p.add(path+".backup", "timeout and retention must be positive")
		}
		if t.CommandTimeout < 0 || t.HealthTimeout < 0 {
			p.add(path, "timeouts must be positive")
		}
		validateEnv(path+".env", t.Env, &p)
	}
	checkTh := func(name string, th Threshold, lowerIsWorse bool) {
		if lowerIsWorse && th.Alert > th.Normal {
			p.add("thresholds."+name, "alert (%g) must be below normal (%g)", th.Alert, th.Normal)
		}
		if !lowerIsWorse && th.Alert < th.Normal {
			p.add("thresholds."+name, "alert (%g) must be above normal (%g)", th.Alert, th.Normal)
		}
	}
	checkTh("response_time_ms", c.Thresholds.ResponseTimeMS, false)
	checkTh("error_5xx_pct", c.Thresholds.Error5xxPct, false)
	checkTh("cpu_pct", c.Thresholds.CPUPct, false)
	checkTh("memory_pct", c.Thresholds.MemoryPct, false)
	checkTh("disk_pct", c.Thresholds.DiskPct, false)
	checkTh("llm_success_pct", c.Thresholds.LLMSuccessPct, true)
	for name, r := range c.Roles {
		for j, u := range r.Users {
			if !validPrincipal(u) {
				p.add(fmt.Sprintf("roles.%s.users[%d]", name, j), "want slack:<id>, discord:<id>, discord-role:<id> or shell:<name>, got %q", u)
			}
		}
		for j, v := range r.Verbs {
			if !verbNameRE.MatchString(v) {
				p.add(fmt.Sprintf("roles.%s.verbs[%d]", name, j), "unknown verb %q", v)
			}
		}
		if r.SilenceMax < 0 {
			p.add(fmt.Sprintf("roles.%s.silence_max", name), "must be positive")
		}
	}
	for ch, verbs := range c.Channels.Verbs {
		if !validChannel(ch) {
			p.add("channels.verbs."+ch, "want slack:<id>, discord:<id> or console, got %q", ch)
		}
		for j, v := range verbs {
			if !verbNameRE.MatchString(v) {
				p.add(fmt.Sprintf("channels.verbs.%s[%d]", ch, j), "unknown verb %q", v)
			}
		}
	}
	for v, rl := range c.RateLimits.Verbs {
		if rl.Count <= 0 || rl.Per <= 0 {
			p.add("rate_limits.verbs."+v, "count and per must be positive")
		}
		if !verbNameRE.MatchString(v) {
			p.add("rate_limits.verbs."+v, "unknown verb %q", v)
		}
	}
	for i, v := range c.Confirm.TwoPerson {
		if !verbNameRE.MatchString(v) {
			p.add(fmt.Sprintf("confirm.two_person[%d]", i), "unknown verb %q", v)
		}
	}
	if c.RateLimits.Default.Count <= 0 || c.RateLimits.Default.Per <= 0 {
		p.add("rate_limits.default", "count and per must be positive")
	}
	if c.Confirm.TTL <= 0 {
		p.add("confirm.ttl", "must be positive")
	}
	for i, pat := range c.Redact.Patterns {
		if _, err := compileRE(pat); err != nil {
			p.add(fmt.Sprintf("redact.patterns[%d]", i), "%v", err)
		}
	}
	switch c.Discord.Mode {
	case "http", "gateway":
	default:
		p.add("discord.mode", "unknown mode %q (want http or gateway)", c.Discord.Mode)
	}
	switch c.Discord.Archive {
	case 60, 1440, 4320, 10080:
	default:
		p.add("discord.thread_archive_minutes", "must be 60, 1440, 4320 or 10080")
	}
	for _, u := range []struct{ key, v string }{{"slack.api_url", c.Slack.APIURL}, {"discord.api_url", c.Discord.APIURL}} {
		if u.v != "" {
			if pu, err := url.Parse(u.v); err != nil || pu.Host == "" {
				p.add(u.key, "not a URL: %q", u.v)
			}
		}
	}
	if c.Leader.TTL < time.Second {
		// Below a second, a tenth of it cannot cover a store round trip.
		p.add("leader.ttl", "must be at least 1s, not %s", c.Leader.TTL)
	}
	for i, s := range c.Channels.Subscriptions {
		if s.Channel == "" {
			p.add(fmt.Sprintf("channels.subscriptions[%d].channel", i), "missing")
		}
	}
	c.Rules.validate(&p)
	c.validateChecks(&p)
	c.validateAlertRules(&p)
	c.validateRuleRemediation(&p)
	c.Notifier.validate(&p)
	c.Security.validate(&p)
	c.Remediation.validate(&p)
	c.Incidents.validate(&p)
	c.Alertmanager.validate(c, &p)
	c.Routing.validate(&p)
	c.Paging.validate(c, &p)
	validateSchedules(c.Schedules, &p)
	c.Diagnose.validate(c, &p)
	c.Agent.validate(c, &p)
	c.Fleet.validate(c, &p)
	c.Display.validate(&p)
	validateLocale(c, &p)
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// CheckLogFormat accepts a preset or "regexp:<RE2 with named groups>".
func CheckLogFormat(f string) error {
	if contains(LogFormats, f) {
		return nil
	}
	if re, ok := strings.CutPrefix(f, "regexp:"); ok {
		r, err := compileRE(re)
		if err != nil {
			return err
		}
		if r.SubexpIndex("time") < 0 {
			return fmt.Errorf("regexp needs a named group (?P<time>…)")
		}
		return nil
	}
	return fmt.Errorf("unknown format %q (want %s or regexp:…)", f, strings.Join(LogFormats, ", "))
}

// compileRE compiles a configured regexp. Its error is one line however
// the expression is written: regexp's own quotes the expression as it is,
// line breaks included.
func compileRE(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err == nil {
		return re, nil
	}
	var se *syntax.Error
	if errors.As(err, &se) {
		return nil, fmt.Errorf("invalid regexp: %s in %s", se.Code, strconv.Quote(se.Expr))
	}
	return nil, fmt.Errorf("invalid regexp: %s", strconv.Quote(err.Error()))
}

func validPrincipal(u string) bool {
	kind, id, ok := strings.Cut(u, ":")
	if !ok || id == "" {
		return false
	}
	switch kind {
	case "slack", "discord", "discord-role", "shell":
		return true
	}
	return false
}

func validChannel(ch string) bool {
	if ch == "console" {
		return true
	}
	kind, id, ok := strings.Cut(ch, ":")
	return ok && id != "" && (kind == "slack" || kind == "discord")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
