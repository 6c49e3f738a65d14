// Package security runs the seed's security checks: bursts of failed
// logins and clients above a request rate (from the log monitors' windows),
// world-writable files under configured roots, configuration files (.env)
// readable by others, and TLS certificates close to expiry. Each problem is
// a Finding with stable labels; a finding absent from the next scan is gone.
package security

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"opsbot/config"
	"opsbot/ops/watch"
)

// Finding is one security problem found now.
type Finding struct {
	Rule     string            `json:"rule"`   // world_writable, env_readable, tls_expiry, login_failed_burst, login_failed_ip, request_rate_ip
	Target   string            `json:"target"` // "" for host-wide
	Labels   map[string]string `json:"labels,omitempty"`
	Severity string            `json:"severity"` // warning | critical
	Summary  string            `json:"summary"`
	Value    float64           `json:"value"`
}

// Severities.
const (
	Warning  = "warning"
	Critical = "critical"
)

// MaxPerRoot bounds the findings of one root: beyond it one finding
// counts the rest, so a chmod -R 777 does not become ten thousand alerts.
const MaxPerRoot = 50

// WorldWritable walks roots (never following symlinks) for regular files
// writable by others, whose base name matches one of globs (every file when
// globs is empty). A root that is missing or unreadable is an error; the
// other roots are still walked.
func WorldWritable(ctx context.Context, roots, globs []string) ([]Finding, error) {
	var out []Finding
	var errs []error
	for _, root := range roots {
		var found []string
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == root {
					return err
				}
				return nil // an unreadable subfolder does not stop the walk
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.Type().IsRegular() || !matchAny(globs, d.Name()) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			if info.Mode().Perm()&0o002 != 0 {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, fmt.Errorf("world-writable scan of %s: %w", root, err))
			continue
		}
		sort.Strings(found)
		for i, p := range found {
			if i == MaxPerRoot {
				out = append(out, Finding{Rule: "world_writable", Labels: map[string]string{"root": root}, Severity: Warning, Value: float64(len(found) - MaxPerRoot),
					Summary: fmt.Sprintf("%d more world-writable files under %s", len(found)-MaxPerRoot, root)})
				break
			}
			out = append(out, Finding{Rule: "world_writable", Labels: map[string]string{"path": p}, Severity: Warning, Value: 1,
				Summary: fmt.Sprintf("%s is writable by every user", p)})
		}
	}
	return out, errors.Join(errs...)
}

func matchAny(globs []string, name string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := filepath.Match(g, name); ok {
			return true
		}
	}
	return false
}

// EnvReadable reports the files of paths that others may read (a .env holds
// the backend's keys). A missing file is no finding.
func EnvReadable(paths []string) ([]Finding, error) {
	var out []Finding
	var errs []error
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			errs = append(errs, fmt.Errorf("env file check: %w", err))
			continue
		}
		if fi.Mode().Perm()&0o004 != 0 {
			out = append(out, Finding{Rule: "env_readable", Labels: map[string]string{"path": p}, Severity: Critical, Value: float64(fi.Mode().Perm()),
				Summary: fmt.Sprintf("%s is readable by every user (mode %04o); chmod 600", p, fi.Mode().Perm())})
		}
	}
	return out, errors.Join(errs...)
}

// TLSOptions tune the certificate check.
type TLSOptions struct {
	Warn, Critical time.Duration
	Timeout        time.Duration
}

// TLSExpiry connects to each https URL and reports a certificate in its
// chain that expires within opts.Warn (warning) or opts.Critical
// (critical), or has expired. The chain is read, not verified, so an
// expired or self-signed certificate is still reported by date. An
// unreachable URL is an error of the check, not a finding.
func TLSExpiry(ctx context.Context, urls []string, now time.Time, opts TLSOptions) ([]Finding, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	var out []Finding
	var errs []error
	for _, raw := range urls {
		exp, subject, err := certExpiry(ctx, raw, opts.Timeout)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err)
			continue
		}
		left := exp.Sub(now)
		sev := ""
		switch {
		case left < opts.Critical:
			sev = Critical
		case left < opts.Warn:
			sev = Warning
		}
		if sev == "" {
			continue
		}
		days := left.Hours() / 24
		summary := fmt.Sprintf("TLS certificate of %s (%s) expires in %.1f days, on %s", raw, subject, days, exp.UTC().Format("2006-01-02 15:04 MST"))
		if left <= 0 {
			summary = fmt.Sprintf("TLS certificate of %s (%s) expired on %s", raw, subject, exp.UTC().Format("2006-01-02 15:04 MST"))
		}
		out = append(out, Finding{Rule: "tls_expiry", Labels: map[string]string{"url": raw}, Severity: sev, Value: days, Summary: summary})
	}
	return out, errors.Join(errs...)
}

func certExpiry(ctx context.Context, raw string, timeout time.Duration) (time.Time, string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return time.Time{}, "", fmt.Errorf("tls check: not an https URL: %q", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: true}} //nolint:gosec // dates are read, trust is not the question here
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("tls check %s: %w", raw, err)
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return time.Time{}, "", fmt.Errorf("tls check %s: no certificate", raw)
	}
	exp, subject := certs[0].NotAfter, certs[0].Subject.CommonName
	for _, c := range certs[1:] {
		if c.NotAfter.Before(exp) {
			exp, subject = c.NotAfter, c.Subject.CommonName
		}
	}
	if subject == "" && len(certs[0].DNSNames) > 0 {
		subject = certs[0].DNSNames[0]
	}
	return exp, subject, nil
}

// Thresholds of the log-based checks.
type Thresholds struct {
	LoginFailed, LoginFailedPerIP, RequestsPerIP int64
	Window                                       time.Duration
}

// ThresholdsFrom reads them from config.
func ThresholdsFrom(c config.Security) Thresholds {
	return Thresholds{LoginFailed: int64(c.LoginFailed), LoginFailedPerIP: int64(c.LoginFailedPerIP), RequestsPerIP: int64(c.RequestsPerIP), Window: c.Window}
}

// FromLogs turns a log monitor's windows into findings: more failed logins
// than allowed per window, source IPs with too many failed logins, client
// IPs with too many requests. A log that could not be read gives none.
func FromLogs(s watch.Snapshot, th Thresholds) []Finding {
	var out []Finding
	win := th.Window.String()
	if s.HasSecurity {
		if s.LoginFailed > th.LoginFailed {
			out = append(out, Finding{Rule: "login_failed_burst", Target: s.Target, Severity: Warning, Value: float64(s.LoginFailed),
				Summary: fmt.Sprintf("%d failed logins in %s (more than %d)", s.LoginFailed, win, th.LoginFailed)})
		}
		for _, ip := range sortedKeys(s.LoginByIP) {
			n := s.LoginByIP[ip]
			if n > th.LoginFailedPerIP {
				out = append(out, Finding{Rule: "login_failed_ip", Target: s.Target, Labels: map[string]string{"ip": ip}, Severity: Warning, Value: float64(n),
					Summary: fmt.Sprintf("%s failed to log in %d times in %s (more than %d)", ip, n, win, th.LoginFailedPerIP)})
			}
		}
	}
	if s.HasAccess {
		for _, ip := range sortedKeys(s.RequestsByIP) {
			n := s.RequestsByIP[ip]
			if n > th.RequestsPerIP {
				out = append(out, Finding{Rule: "request_rate_ip", Target: s.Target, Labels: map[string]string{"ip": ip}, Severity: Warning, Value: float64(n),
					Summary: fmt.Sprintf("%s made %s requests in %s (more than %d)", ip, strconv.FormatInt(n, 10), win, th.RequestsPerIP)})
			}
		}
	}
	return out
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
