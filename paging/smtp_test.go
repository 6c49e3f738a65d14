package paging_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"opsbot/config"
	"opsbot/store/storetest"
)

// smtpServer is a real SMTP server (github.com/emersion/go-smtp) on
// loopback with STARTTLS: it offers PLAIN only over TLS, refuses a wrong
// login with 535 and mail from a session that did not log in with 530,
// and keeps what arrives.
type smtpServer struct {
	addr     string
	user     string
	pass     string
	mu       sync.Mutex
	mails    []*mail.Message
	bodies   [][]byte
	rcpts    [][]string
	authFail int
}

type smtpSession struct {
	s     *smtpServer
	authd bool
	to    []string
}

func (s *smtpServer) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: s}, nil }

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != ss.s.user || password != ss.s.pass {
			ss.s.mu.Lock()
			ss.s.authFail++
			ss.s.mu.Unlock()
			return smtp.ErrAuthFailed
		}
		ss.authd = true
		return nil
	}), nil
}

func (ss *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !ss.authd {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparsable message"}
	}
	body, _ := io.ReadAll(m.Body)
	ss.s.mu.Lock()
	ss.s.mails = append(ss.s.mails, m)
	ss.s.bodies = append(ss.s.bodies, body)
	ss.s.rcpts = append(ss.s.rcpts, ss.to)
	ss.s.mu.Unlock()
	return nil
}

func (ss *smtpSession) Reset()        { ss.to = nil }
func (ss *smtpSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func newSMTP(t *testing.T, user, pass string) (*smtpServer, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	s := &smtpServer{user: user, pass: pass}
	srv := smtp.NewServer(s)
	srv.Domain = "127.0.0.1"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s, pool
}

func (s *smtpServer) received() ([]*mail.Message, [][]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*mail.Message(nil), s.mails...), append([][]byte(nil), s.bodies...)
}

// The guide's warning → mail: a page by e-mail over STARTTLS with PLAIN
// auth, a plain-text and an HTML part, a stable Message-ID; the resolve
// threads under it (In-Reply-To, References).
func TestEmailPageThreadsTheResolve(t *testing.T) {
	st := storetest.SQLite(t)
	srv, pool := newSMTP(t, "opsbot", "mail-password")
	r := newRig(t, st)
	r.integ.SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	r.cfg.Paging.Integrations["mail"] = config.Integration{Type: "email", SMTP: srv.addr, TLS: "starttls", From: "opsbot@example.com",
		Username: "opsbot", To: []string{"oncall@example.com"}, Timeout: 5 * time.Second}
	r.cfg.Secrets.Paging["mail"] = "mail-password"
	r.cfg.Paging.Policies = append(r.cfg.Paging.Policies, config.EscalationPolicy{Name: "warning", Severity: "warning",
		Steps: []config.Step{{After: 0, Rotation: "primary", Via: []string{"mail"}}}})
	if probs := r.cfg.Validate(); len(probs) > 0 {
		t.Fatalf("config: %v", probs)
	}
	r.fire(t, "disk/api", "warning")
	r.pass(t)
	mails, bodies := srv.received()
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	m := mails[0]
	id := r.alertID(t, "disk/api")
	firingID := m.Header.Get("Message-Id")
	if firingID != "<opsbot.alert-"+itoa(id)+".alice@example.com>" {
		t.Fatalf("Message-ID %q", firingID)
	}
	if got := m.Header.Get("Subject"); got != "[warning] api is not responding" {
		t.Fatalf("Subject %q", got)
	}
	if to := m.Header.Get("To"); !strings.Contains(to, "alice@example.com") || !strings.Contains(to, "oncall@example.com") {
		t.Fatalf("To %q", to)
	}
	plain, html := parts(t, m, bodies[0])
	if !strings.Contains(plain, "api is not responding") || !strings.Contains(plain, "state:    firing") ||
		!strings.Contains(html, "<h2>[warning] api is not responding</h2>") || !strings.Contains(html, "<td>state</td><td>firing</td>") {
		t.Fatalf("parts:\n%s\n---\n%s", plain, html)
	}
	if count(r.thread(t), "Page via mail to alice: delivered.") != 1 {
		t.Fatalf("thread: %q", r.thread(t))
	}

	r.at(10 * time.Minute)
	r.resolve(t, "disk/api")
	r.pass(t)
	mails, _ = srv.received()
	if len(mails) != 2 {
		t.Fatalf("%d mails after the resolve, want 2", len(mails))
	}
	res := mails[1]
	if res.Header.Get("In-Reply-To") != firingID || res.Header.Get("References") != firingID ||
		res.Header.Get("Message-Id") == firingID || !strings.HasPrefix(res.Header.Get("Subject"), "Re: [warning] ") {
		t.Fatalf("resolve headers: %v", res.Header)
	}
}

// A server that refuses the login: one clear line in the thread, the page
// parked after one try (no retry storm), the password nowhere.
func TestEmailWrongPassword(t *testing.T) {
	st := storetest.SQLite(t)
	srv, pool := newSMTP(t, "opsbot", "the-right-one")
	r := newRig(t, st)
	r.integ.SetTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	r.cfg.Paging.Integrations["mail"] = config.Integration{Type: "email", SMTP: srv.addr, TLS: "starttls", From: "opsbot@example.com",
		Username: "opsbot", Timeout: 5 * time.Second}
	r.cfg.Secrets.Paging["mail"] = "a-wrong-password"
	r.cfg.Paging.Policies = []config.EscalationPolicy{{Name: "warning", Severity: "warning",
		Steps: []config.Step{{After: 0, Rotation: "primary", Via: []string{"mail"}}}}}
	r.fire(t, "disk/api", "warning")
	for d := time.Duration(0); d < 10*time.Minute; d += 20 * time.Second {
		r.at(d)
		r.pass(t)
	}
	srv.mu.Lock()
	fails := srv.authFail
	srv.mu.Unlock()
	if fails != 1 {
		t.Fatalf("%d logins refused, want 1 (no retry storm)", fails)
	}
	th := r.thread(t)
	n := 0
	for _, l := range th {
		if strings.HasPrefix(l, "Page via mail to alice failed and was given up (e-mail page: ") && strings.Contains(l, "535") {
			n++
		}
		if strings.Contains(l, "a-wrong-password") {
			t.Fatalf("the password reached the thread: %q", l)
		}
	}
	if n != 1 {
		t.Fatalf("the refusal is not one line: %q", th)
	}
	if mails, _ := srv.received(); len(mails) != 0 {
		t.Fatalf("%d mails got through", len(mails))
	}
	var parked int
	parked, err := r.n.Parked(context.Background())
	if err != nil || parked != 1 {
		t.Fatalf("parked %d %v", parked, err)
	}
}

func itoa(n int64) string { return big.NewInt(n).String() }

// parts returns the text/plain and text/html parts of a multipart/alternative mail.
func parts(t *testing.T, m *mail.Message, body []byte) (plain, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return plain, html
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		text := decodeQP(p.Header.Get("Content-Transfer-Encoding"), b)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			plain = text
		case "text/html":
			html = text
		}
	}
}

func decodeQP(cte string, b []byte) string {
	if strings.EqualFold(cte, "base64") {
		out, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(strings.ReplaceAll(string(b), "\r", ""), "\n", ""))
		if err == nil {
			return string(out)
		}
	}
	return string(b)
}
