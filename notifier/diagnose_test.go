package notifier_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opsbot/alert"
	"opsbot/rules"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A firing alert's message carries Diagnose (its value the alert id) and
// the rule's runbook; once resolved, the button goes.
func TestDiagnoseButtonAndRunbook(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.cfg.Diagnose.RunbookBase = "https://git.example/opsbot/blob/main/"
		r.n.SetDiagnose("diagnose", rules.SymptomOf)
		r.subscribe(t, "ops", "", "", "threshold")
		r.notify(t, firing("d1", "threshold", "disk_high", "api", "critical", "disk use on api is 95 %", 95))
		r.drain(t)
		ps := p.posts("ops")
		if len(ps) != 1 {
			t.Fatalf("posts %v", ps)
		}
		got := text(ps[0].Last())
		if !strings.Contains(got, "|[ack:1]|") || !strings.HasSuffix(got, "|[diagnose:1]") || !strings.Contains(got, "runbook https://git.example/opsbot/blob/main/docs/runbooks.md#disk-full") {
			t.Fatalf("firing message: %s", got)
		}
		res := firing("d1", "threshold", "disk_high", "api", "critical", "disk use on api is 70 %", 70)
		res.Status = alert.Resolved
		r.notify(t, res)
		r.drain(t)
		if got := text(ps[0].Last()); strings.Contains(got, "diagnose") {
			t.Fatalf("resolved message keeps Diagnose: %s", got)
		}
	})
}

// Alertmanager alerts keep their runbook_url annotation and generatorURL
// as links on the message; anything but an http(s) URL is dropped.
func TestAlertmanagerLinks(t *testing.T) {
	st := storetest.SQLite(t)
	p := newPlatform(nil)
	r := newRig(t, st, p)
	r.cfg.Notifier.GroupWait = 0
	r.cfg.Secrets.AlertmanagerToken = "am-token-123"
	r.subscribe(t, "ops", "", "", "external")
	srv := httptest.NewServer(r.n.AlertmanagerHandler())
	defer srv.Close()
	body := strings.Replace(amFiring, `"annotations":{"summary":"p99 latency 3.2s"}`,
		`"annotations":{"summary":"p99 latency 3.2s","runbook_url":"https://wiki.example/runbooks/latency"}`, 1)
	if code := amPost(t, srv.URL, body, "am-token-123"); code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	r.drain(t)
	bad := strings.NewReplacer(`"generatorURL":"http://prom/graph"`, `"generatorURL":"javascript:alert(1)"`, `"fingerprint":"c0ffee"`, `"fingerprint":"bad1"`).Replace(amFiring)
	if code := amPost(t, srv.URL, bad, "am-token-123"); code != http.StatusOK {
		t.Fatalf("post: %d", code)
	}
	r.drain(t)
	var withLinks, without string
	for _, m := range p.posts("ops") {
		s := text(m.Last())
		if strings.Contains(s, "runbook") {
			withLinks = s
		} else {
			without = s
		}
	}
	if !strings.Contains(withLinks, "Detail=runbook https://wiki.example/runbooks/latency · source http://prom/graph") {
		t.Errorf("links lost: %s", withLinks)
	}
	if without == "" || strings.Contains(without, "javascript") {
		t.Errorf("a non-http link was kept: %s", without)
	}
}
