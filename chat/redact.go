package chat

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redactor removes secrets from text before it leaves for a chat:
// configured secret values, Authorization headers, password=, api_key=,
// and tokens recognised by their prefixes.
type Redactor struct {
	values   []string
	patterns []*regexp.Regexp
}

const mask = "[REDACTED]"

var builtin = []*regexp.Regexp{
	regexp.MustCompile(`(?i)(authorization\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?[^\s,;"']+`),
	regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|api[_-]?key|apikey|access[_-]?token|token)\s*[=:]\s*"?)[^\s&,;"']+`),
	regexp.MustCompile(`\b(xox[abposr]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|sk-[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{16,})`),
	regexp.MustCompile(`(://[^/\s:@]+:)[^@\s/]+(@)`),
}

// NewRedactor builds a redactor for the given secret values and extra RE2 patterns.
func NewRedactor(values []string, patterns []*regexp.Regexp) *Redactor {
	r := &Redactor{patterns: append(append([]*regexp.Regexp{}, builtin...), patterns...)}
	for _, v := range values {
		if len(v) >= 4 {
			r.values = append(r.values, v)
		}
	}
	return r
}

// Redact returns s with every secret masked.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, mask)
		}
	}
	for i, p := range r.patterns {
		switch i {
		case 0, 1:
			s = p.ReplaceAllString(s, "${1}"+mask)
		case 3:
			s = p.ReplaceAllString(s, "${1}"+mask+"${2}")
		default:
			s = p.ReplaceAllString(s, mask)
		}
	}
	return s
}

// Message redacts every text part of m, files included.
func (r *Redactor) Message(m Message) Message {
	if r == nil {
		return m
	}
	m.Title = r.Redact(m.Title)
	m.Text = r.Redact(m.Text)
	m.Code = r.Redact(m.Code)
	m.Context = r.Redact(m.Context)
	if len(m.Fields) > 0 {
		fs := make([]Field, len(m.Fields))
		for i, f := range m.Fields {
			f.Value = r.Redact(f.Value)
			fs[i] = f
		}
		m.Fields = fs
	}
	if len(m.Files) > 0 {
		files := make([]File, len(m.Files))
		for i, f := range m.Files {
			// Binary attachments (a chart) are not text: rewriting their bytes
			// would corrupt them, and they carry no log text.
			if !strings.HasPrefix(f.Mime, "image/") && utf8.Valid(f.Data) {
				f.Data = []byte(r.Redact(string(f.Data)))
			}
			files[i] = f
		}
		m.Files = files
	}
	return m
}
