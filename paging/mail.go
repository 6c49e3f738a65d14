package paging

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/mail"
	"net/textproto"
	"sort"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"opsbot/chat"
	"opsbot/config"
)

// E-mail pages go out with github.com/wneessen/go-mail: STARTTLS or TLS,
// PLAIN auth with the integration's secret as the password, one message
// per page with a plain-text and an HTML part. Every mail of an alert has
// a stable Message-ID; the resolve names the firing mail in In-Reply-To and
// References, so mail clients thread it under the page.

// MailID is the Message-ID (without angle brackets) of alert id's mail of
// action to person, on the sender's domain.
func MailID(alertID int64, person, action, from string) string {
	domain := "opsbot.invalid"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok {
			domain = d
		}
	}
	id := "opsbot.alert-" + strconv.FormatInt(alertID, 10)
	if person != "" {
		id += "." + person
	}
	if action != chat.PageTrigger {
		id += "." + action
	}
	return id + "@" + domain
}

var mailHTML = template.Must(template.New("page").Parse(`<!doctype html>
<html><body>
<h2>{{.Title}}</h2>
<p>{{.Page.Summary}}</p>
<table>
<tr><td>state</td><td>{{.Page.State}}</td></tr>
<tr><td>severity</td><td>{{.Page.Severity}}</td></tr>
<tr><td>target</td><td>{{.Page.Target}}</td></tr>
<tr><td>rule</td><td>{{.Page.Rule}}</td></tr>
<tr><td>since</td><td>{{.Since}}</td></tr>
{{range .Labels}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>
{{end}}</table>
{{range .Page.Links}}<p><a href="{{.}}">the alert in chat</a></p>
{{end}}</body></html>
`))

type kv struct{ K, V string }

func mailBodies(m chat.Message) (plain, html string, err error) {
	pg := m.Page
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\nstate:    %s\nseverity: %s\ntarget:   %s\nrule:     %s\nsince:    %s UTC\n",
		m.Title, pg.Summary, pg.State, pg.Severity, pg.Target, pg.Rule, pg.StartedAt.UTC().Format("2006-01-02 15:04:05"))
	var labels []kv
	for k, v := range pg.Labels {
		labels = append(labels, kv{k, v})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].K < labels[j].K })
	for _, l := range labels {
		fmt.Fprintf(&b, "%s: %s\n", l.K, l.V)
	}
	for _, l := range pg.Links {
		fmt.Fprintf(&b, "\n%s\n", l)
	}
	var h strings.Builder
	err = mailHTML.Execute(&h, map[string]any{"Title": m.Title, "Page": pg, "Labels": labels, "Since": pg.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC")})
	return b.String(), h.String(), err
}

func (p *Integrations) email(ctx context.Context, in config.Integration, secret string, m chat.Message) (string, error) {
	pg := m.Page
	var to []string
	if pg.Email != "" {
		to = append(to, pg.Email)
	}
	to = append(to, in.To...)
	if len(to) == 0 {
		return "", chat.Permanent(errors.New("e-mail page: nobody to mail (the person has no email and the integration no to)"))
	}
	msg := gomail.NewMsg()
	if err := msg.From(in.From); err != nil {
		return "", chat.Permanent(fmt.Errorf("e-mail page: from: %w", err))
	}
	if err := msg.To(to...); err != nil {
		return "", chat.Permanent(fmt.Errorf("e-mail page: to: %w", err))
	}
	subject := m.Title
	id := MailID(pg.AlertID, pg.Person, pg.Action, in.From)
	if pg.Action != chat.PageTrigger {
		first := "<" + MailID(pg.AlertID, pg.Person, chat.PageTrigger, in.From) + ">"
		msg.SetGenHeader(gomail.HeaderInReplyTo, first)
		msg.SetGenHeader(gomail.HeaderReferences, first)
		subject = "Re: " + subject + " (" + pg.State + ")"
	}
	msg.SetMessageIDWithValue(id)
	msg.Subject(subject)
	msg.SetDateWithValue(p.Now())
	msg.SetGenHeader("X-Opsbot-Alert", strconv.FormatInt(pg.AlertID, 10))
	plain, html, err := mailBodies(m)
	if err != nil {
		return "", chat.Permanent(fmt.Errorf("e-mail page: %w", err))
	}
	msg.SetBodyString(gomail.TypeTextPlain, plain)
	msg.AddAlternativeString(gomail.TypeTextHTML, html)

	host, portStr, err := net.SplitHostPort(in.SMTP)
	if err != nil {
		return "", chat.Permanent(fmt.Errorf("e-mail page: smtp %q: %w", in.SMTP, err))
	}
	port, _ := strconv.Atoi(portStr)
	tc := p.tlsConfig
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tc = tc.Clone()
	tc.ServerName = host
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(in.Timeout), gomail.WithTLSConfig(tc)}
	auth := gomail.SMTPAuthPlain
	switch in.TLS {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		auth = gomail.SMTPAuthPlainNoEnc // accepted by config only towards a loopback server
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if in.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(in.Username), gomail.WithPassword(secret))
	}
	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return "", chat.Permanent(fmt.Errorf("e-mail page: %w", err))
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return "", classifySMTP(err)
	}
	return id, nil
}

// classifySMTP: a 5xx reply (a refused login, an unknown recipient) is
// permanent, so a wrong password is said once instead of retried; a 4xx
// reply or a failed connection is tried again.
func classifySMTP(err error) error {
	err = fmt.Errorf("e-mail page: %w", err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return chat.Permanent(err)
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return chat.Permanent(err)
	}
	return err
}
