package remediate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"opsbot/config"
	"opsbot/remediate"
	"opsbot/store"
	"opsbot/store/storetest"
)

const (
	amUnmapped = `{"version":"4","status":"firing","receiver":"opsbot","alerts":[{"status":"firing",
"labels":{"alertname":"memory_high","instance":"demo","severity":"critical"},"annotations":{"summary":"memory 97%"},
"startsAt":"2026-11-25T09:58:00Z","fingerprint":"feed"}]}`
	amMapped = `{"version":"4","status":"firing","receiver":"opsbot","alerts":[{"status":"firing",
"labels":{"alertname":"RedisMemoryHigh","action":"flush","instance":"demo","severity":"critical"},"annotations":{"summary":"redis memory 95%"},
"startsAt":"2026-11-25T09:58:00Z","fingerprint":"beef"}]}`
)

// An Alertmanager alert runs an action only through alertmanager.actions:
// one named like opsbot's memory rule runs nothing; a mapped one runs its
// action once per episode, through the queue and its budget, however often
// Alertmanager sends it again.
func TestWebhookActsOnlyThroughTheMapping(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		dbn := 6
		if st.Dialect == "postgres" {
			dbn = 7
		}
		addr, rc := redisDB(t, dbn, 4)
		e := newEnv(t, st, envOpts{standin: true, redisAddr: addr, redisDB: dbn})
		e.n.SetActions(e.rem)
		e.cfg.Thresholds.MemoryPct.Normal = 100
		e.cfg.Secrets.AlertmanagerToken = config.Secret("am-token")
		e.cfg.Alertmanager.Actions = []config.AlertAction{{Alertname: "RedisMemoryHigh", Matchers: []string{`action="flush"`},
			Action: "cache_flush", TargetLabel: "instance"}}
		srv := httptest.NewServer(e.n.AlertmanagerHandler())
		defer srv.Close()
		post := func(body string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer am-token")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("webhook answered %d", resp.StatusCode)
			}
			e.deliver(t) // the pipeline applies it and tells remediation
			e.settle(t)
		}
		ctx := context.Background()
		post(amUnmapped)
		if n := len(e.attempts(t, remediate.ActCacheFlush)); n != 0 {
			t.Fatalf("an unmapped alert named memory_high ran %d flush(es)", n)
		}
		if k := rc.DBSize(ctx).Val(); k != 4 {
			t.Fatalf("cache holds %d keys, want the 4 untouched", k)
		}
		for range 5 {
			post(amMapped)
		}
		atts := e.attempts(t, remediate.ActCacheFlush)
		if len(atts) != 1 || atts[0].Target != "demo" || atts[0].Fingerprint != "am:beef" {
			t.Fatalf("mapped alert sent 5 times: attempts %+v, want exactly one flush of demo", atts)
		}
		if k := rc.DBSize(ctx).Val(); k != 0 {
			t.Fatalf("cache still holds %d keys after the mapped flush", k)
		}
		if out := e.out.String(); !strings.Contains(out, "RedisMemoryHigh on demo") {
			t.Fatalf("the mapped alert was not announced:\n%s", out)
		}
	})
}
