// Package loggen writes realistic logs of the served backend (app log in
// app_iso, nginx access log in nginx_timed) for tests and benchmarks.
// Output is deterministic for a seed, and timestamps rise evenly from
// end-span to end.
package loggen

import (
	"bufio"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Secret-looking strings never appear: redaction tests plant their own.

var (
	paths   = []string{"/api/chat", "/api/chat/stream", "/api/lessons", "/api/lessons/42", "/api/upload", "/api/login", "/static/app.js", "/static/logo.png", "/healthz", "/api/quiz/submit"}
	methods = []string{"GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"}
	agents  = []string{
		`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36`,
		`Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148`,
		`curl/8.11.0`, `python-requests/2.32.3`,
	}
	modules = []string{"api", "llm", "db", "auth", "upload", "quiz", "cache"}
	infos   = []string{
		"request handled path=/api/chat user=%d took=%dms",
		"lesson loaded id=%d in %dms",
		"cache hit key=lesson:%d age=%ds",
		"user %d logged in from web, session ok after %dms",
		"quiz submitted user=%d score=%d",
	}
	warns = []string{
		"slow query on lessons table user=%d took=%dms",
		"retrying LLM request attempt=%d backoff=%dms",
		"rate limit near for user %d: %d requests this hour",
	}
	errs = []string{
		"LLM API Error: timeout after %d ms (attempt %d)",
		"database is locked, gave up after %d ms (conn %d)",
		"upload failed for user %d: disk quota, %d bytes",
		"unhandled error in handler chat_stream, request %d took %dms",
	}
)

// Options of a generated log.
type Options struct {
	Size int64         // bytes to write (stops after the line that reaches it)
	End  time.Time     // time of the last line
	Span time.Duration // time from the first line to the last
	Seed uint64
}

type gen struct {
	w       *bufio.Writer
	o       Options
	r       *rand.Rand
	written int64
	buf     []byte
}

func newGen(w io.Writer, o Options) *gen {
	if o.Span <= 0 {
		o.Span = 24 * time.Hour
	}
	return &gen{w: bufio.NewWriterSize(w, 1<<20), o: o, r: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), buf: make([]byte, 0, 512)}
}

// now is the time of the next line: even in bytes written.
func (g *gen) now() time.Time {
	frac := float64(g.written) / float64(g.o.Size)
	return g.o.End.Add(-g.o.Span + time.Duration(frac*float64(g.o.Span)))
}

func (g *gen) emit() error {
	g.written += int64(len(g.buf))
	_, err := g.w.Write(g.buf)
	return err
}

// App writes an app log: "2026-11-25T10:00:00.123+08:00 LEVEL [module] message",
// with the odd multi-line traceback whose lines carry no timestamp.
func App(w io.Writer, o Options) error {
	g := newGen(w, o)
	for g.written < o.Size {
		t := g.now()
		b := t.AppendFormat(g.buf[:0], "2006-01-02T15:04:05.000-07:00")
		p := g.r.IntN(1000)
		var lvl string
		var tmpl []string
		switch {
		case p < 20:
			lvl, tmpl = "DEBUG", infos
		case p < 880:
			lvl, tmpl = "INFO", infos
		case p < 950:
			lvl, tmpl = "WARN", warns
		default:
			lvl, tmpl = "ERROR", errs
		}
		b = append(b, ' ')
		b = append(b, lvl...)
		b = append(b, " ["...)
		b = append(b, modules[g.r.IntN(len(modules))]...)
		b = append(b, "] "...)
		b = appendf(b, tmpl[g.r.IntN(len(tmpl))], g.r.IntN(100000), g.r.IntN(5000))
		b = append(b, '\n')
		if lvl == "ERROR" && g.r.IntN(4) == 0 {
			b = append(b, "Traceback (most recent call last):\n  File \"app/handlers.py\", line 88, in chat_stream\n    reply = llm.complete(prompt)\nTimeoutError: the LLM vendor did not answer\n"...)
		}
		g.buf = b
		if err := g.emit(); err != nil {
			return err
		}
	}
	return g.w.Flush()
}

// Access writes an nginx access log in combined format plus $request_time.
func Access(w io.Writer, o Options) error {
	g := newGen(w, o)
	for g.written < o.Size {
		t := g.now()
		b := g.buf[:0]
		ip := g.r.IntN(4000)
		b = append(b, "10."...)
		b = strconv.AppendInt(b, int64(ip>>8), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(ip&0xff), 10)
		b = append(b, ".7 - - ["...)
		b = t.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
		b = append(b, "] \""...)
		b = append(b, methods[g.r.IntN(len(methods))]...)
		b = append(b, ' ')
		b = append(b, paths[g.r.IntN(len(paths))]...)
		b = append(b, " HTTP/1.1\" "...)
		status := 200
		switch p := g.r.IntN(1000); {
		case p < 15:
			status = 500 + g.r.IntN(4)
		case p < 60:
			status = 404
		case p < 70:
			status = 401
		case p < 90:
			status = 304
		}
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(g.r.IntN(50000)), 10)
		b = append(b, ` "-" "`...)
		b = append(b, agents[g.r.IntN(len(agents))]...)
		b = append(b, "\" "...)
		ms := g.r.IntN(800)
		if g.r.IntN(100) == 0 {
			ms += 2000
		}
		b = strconv.AppendInt(b, int64(ms/1000), 10)
		b = append(b, '.')
		b = append(b, byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
		b = append(b, '\n')
		g.buf = b
		if err := g.emit(); err != nil {
			return err
		}
	}
	return g.w.Flush()
}

// appendf fills the two %d of tmpl (the only verb used above).
func appendf(b []byte, tmpl string, a, c int) []byte {
	args := [2]int{a, c}
	n := 0
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == '%' && i+1 < len(tmpl) && tmpl[i+1] == 'd' && n < 2 {
			b = strconv.AppendInt(b, int64(args[n]), 10)
			n++
			i++
			continue
		}
		b = append(b, tmpl[i])
	}
	return b
}

// Security writes an app_iso security log: logins, one in five failed,
// from about 250,000 addresses of which a few dozen are brute-forcing.
func Security(w io.Writer, o Options) error {
	g := newGen(w, o)
	for g.written < o.Size {
		t := g.now()
		b := t.AppendFormat(g.buf[:0], "2006-01-02T15:04:05.000-07:00")
		failed := g.r.IntN(5) == 0
		var ip int
		if failed && g.r.IntN(2) == 0 {
			ip = g.r.IntN(40) // the attackers
		} else {
			ip = 40 + g.r.IntN(250000)
		}
		if failed {
			b = append(b, " WARN [auth] login failed for user "...)
		} else {
			b = append(b, " INFO [auth] login ok for user "...)
		}
		b = strconv.AppendInt(b, int64(g.r.IntN(100000)), 10)
		b = append(b, " from 172."...)
		b = strconv.AppendInt(b, int64(16+ip>>16), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(ip>>8&0xff), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(ip&0xff), 10)
		b = append(b, '\n')
		g.buf = b
		if err := g.emit(); err != nil {
			return err
		}
	}
	return g.w.Flush()
}
