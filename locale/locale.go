// Package locale is opsbot's message catalog: every user-visible sentence
// by key, in English and Simplified Chinese (locales/*.toml, embedded),
// with plural forms and named parameters, plus what goes with a language:
// the names people type for stages and severities, its time format and its
// default time zone. It imports only the human formatter, so every room,
// leaves included, may use it.
package locale

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // Asia/Shanghai must resolve on hosts without zoneinfo

	"opsbot/human"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// The supported locales. English is the default and the fallback of every
// missing entry.
const (
	En   = "en"
	ZhCN = "zh-CN"
)

//go:embed locales/*.toml
var files embed.FS

// Args are a message's named parameters ({{.Name}} in the catalog). Count,
// when present, also picks the plural form.
type Args map[string]any

var (
	loadOnce  sync.Once
	bundle    *i18n.Bundle
	raw       map[string]map[string]map[string]string // locale → key → form → text
	locs      map[string]*i18n.Localizer
	supported []string
	loadErr   error
)

func load() {
	bundle = i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	raw = map[string]map[string]map[string]string{}
	locs = map[string]*i18n.Localizer{}
	entries, err := fs.ReadDir(files, "locales")
	if err != nil {
		loadErr = fmt.Errorf("read catalog: %w", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		b, err := files.ReadFile(path.Join("locales", name))
		if err != nil {
			loadErr = fmt.Errorf("read catalog %s: %w", name, err)
			return
		}
		if _, err := bundle.ParseMessageFileBytes(b, name); err != nil {
			loadErr = fmt.Errorf("parse catalog %s: %w", name, err)
			return
		}
		tag := strings.TrimSuffix(name, ".toml")
		m, err := parseRaw(b)
		if err != nil {
			loadErr = fmt.Errorf("parse catalog %s: %w", name, err)
			return
		}
		raw[tag] = m
		supported = append(supported, tag)
	}
	sort.Strings(supported)
	for _, tag := range supported {
		locs[tag] = i18n.NewLocalizer(bundle, tag)
	}
}

// parseRaw reads a catalog file as key → form → text: a plain string is
// the form "other".
func parseRaw(b []byte) (map[string]map[string]string, error) {
	var doc map[string]any
	if err := toml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for k, v := range doc {
		switch x := v.(type) {
		case string:
			out[k] = map[string]string{"other": x}
		case map[string]any:
			forms := map[string]string{}
			for f, t := range x {
				s, ok := t.(string)
				if !ok {
					return nil, fmt.Errorf("key %s form %s: not a string", k, f)
				}
				forms[f] = s
			}
			out[k] = forms
		default:
			return nil, fmt.Errorf("key %s: not a string or a table of forms", k)
		}
	}
	return out, nil
}

func catalog() error {
	loadOnce.Do(load)
	return loadErr
}

// Check reports a catalog that cannot be loaded (a bad TOML file is a
// build defect; tests and startup call it).
func Check() error { return catalog() }

// Supported lists the locales of the catalog.
func Supported() []string {
	if catalog() != nil {
		return []string{En}
	}
	return append([]string(nil), supported...)
}

// Forms returns the raw forms of key in locale (nil when absent), for the
// catalog's own tests and for tools.
func Forms(loc, key string) map[string]string {
	if catalog() != nil {
		return nil
	}
	return raw[loc][key]
}

// Keys lists every key of locale, sorted.
func Keys(loc string) []string {
	if catalog() != nil {
		return nil
	}
	keys := make([]string, 0, len(raw[loc]))
	for k := range raw[loc] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Parse reads a locale name as people and platforms write it: "en",
// "en-US", "en-GB" are en; "zh", "zh-CN", "zh_cn", "zh-Hans" are zh-CN. ok
// is false for anything else (zh-TW included: not Simplified Chinese).
func Parse(s string) (string, bool) {
	n := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
	switch {
	case n == "en" || strings.HasPrefix(n, "en-"):
		return En, true
	case n == "zh" || n == "zh-cn" || n == "zh-hans" || n == "zh-hans-cn" || n == "zh-sg":
		return ZhCN, true
	}
	return "", false
}

// Discord picks the locale of an interaction: the user's client language
// first, then the server's (guild_locale); "" when neither is supported.
func Discord(userLocale, guildLocale string) string {
	if l, ok := Parse(userLocale); ok {
		return l
	}
	if l, ok := Parse(guildLocale); ok {
		return l
	}
	return ""
}

// Printer speaks one locale in one time zone. The zero Printer is English
// in UTC.
type Printer struct {
	Lang string
	Zone *time.Location
}

// For returns the printer of locale loc in zone (nil: the locale's default
// zone, see DefaultZone).
func For(loc string, zone *time.Location) Printer {
	l, ok := Parse(loc)
	if !ok {
		l = En
	}
	if zone == nil {
		zone = DefaultZone(l)
	}
	return Printer{Lang: l, Zone: zone}
}

// DefaultZone is the zone times are shown in when none is configured:
// Asia/Shanghai for zh-CN, UTC otherwise.
func DefaultZone(loc string) *time.Location {
	if loc == ZhCN {
		if z, err := time.LoadLocation("Asia/Shanghai"); err == nil {
			return z
		}
	}
	return time.UTC
}

func (p Printer) lang() string {
	if p.Lang == "" {
		return En
	}
	return p.Lang
}

func (p Printer) zone() *time.Location {
	if p.Zone == nil {
		return time.UTC
	}
	return p.Zone
}

// T is the message key in the printer's language with args filled in. A
// key missing in the language falls back to English, and a key missing
// everywhere shows as itself (a test keeps that from shipping).
func (p Printer) T(key string, args ...Args) string { return T(p.lang(), key, args...) }

// T is the message key in locale loc (see Printer.T).
func T(loc, key string, args ...Args) string {
	if catalog() != nil {
		return key
	}
	var data Args
	if len(args) > 0 {
		data = args[0]
	}
	cfg := &i18n.LocalizeConfig{MessageID: key, TemplateData: map[string]any(data)}
	if c, ok := data["Count"]; ok {
		cfg.PluralCount = c
	}
	l := locs[loc]
	if l == nil {
		l = locs[En]
	}
	s, err := l.Localize(cfg)
	if err != nil || s == "" {
		if loc != En {
			return T(En, key, args...)
		}
		return key
	}
	return s
}

// Time renders t in the printer's zone and format: "2006-01-02 15:04 UTC"
// in English, "2006年01月02日 15:04 CST" in Chinese.
func (p Printer) Time(t time.Time) string {
	t = t.In(p.zone())
	if p.lang() == ZhCN {
		return t.Format("2006年01月02日 15:04 MST")
	}
	return t.Format("2006-01-02 15:04 MST")
}

// Clock renders the time of day of t in the printer's zone: "15:04 UTC".
func (p Printer) Clock(t time.Time) string { return t.In(p.zone()).Format("15:04 MST") }

// Seconds renders t to the second in the printer's zone, without the
// zone's name (tables say it in their heading).
func (p Printer) Seconds(t time.Time) string {
	t = t.In(p.zone())
	if p.lang() == ZhCN {
		return t.Format("2006年01月02日 15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// ZoneName is the name of the printer's zone for headings ("UTC", "CST").
func (p Printer) ZoneName(at time.Time) string {
	n, _ := at.In(p.zone()).Zone()
	return n
}

// Duration renders d for people in the printer's language ("5 min", "5 分钟").
func (p Printer) Duration(d time.Duration) string { return human.DurationIn(p.lang(), d) }

// Resolve is the printer of a channel: its own choice when it made one,
// else the configured locale; times in zone (an IANA name) when one is
// configured, else the chosen locale's default zone.
func Resolve(configured, channel, zone string) Printer {
	loc := configured
	if l, ok := Parse(channel); ok {
		loc = l
	}
	var z *time.Location
	if zone != "" {
		if x, err := time.LoadLocation(zone); err == nil {
			z = x
		}
	}
	return For(loc, z)
}

// Has reports whether locale loc has its own entry for key (no fallback).
func Has(loc, key string) bool { return Forms(loc, key) != nil }
