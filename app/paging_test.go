package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/config"
)

// /webhooks/pagerduty is mounted on the listener: closed (404) without its
// secret, and with it an unsigned call is refused with one line.
func TestPagerDutyWebhookMounted(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		code int
		body string
	}{
		{"closed", map[string]string{"OPSBOT_PAGING_PD_SECRET": "R0UTINGKEY0123456789012345678901"}, http.StatusNotFound, "404 page not found"},
		{"open", map[string]string{"OPSBOT_PAGING_PD_SECRET": "R0UTINGKEY0123456789012345678901", "OPSBOT_PAGING_PD_WEBHOOK_SECRET": "whsec"},
			http.StatusUnauthorized, "unsigned: no X-PagerDuty-Signature header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "opsbot.yaml")
			yaml := "store:\n  dsn: " + filepath.Join(dir, "opsbot.db") + "\npaging:\n  integrations:\n    pd: {type: pagerduty}\n"
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.LoadEnv(path, c.env)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			st, err := openStore(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			a, err := build(ctx, cfg, st, Options{Stdout: io.Discard}, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			rec := httptest.NewRecorder()
			a.serveRoutes(rec, httptest.NewRequest(http.MethodPost, "/webhooks/pagerduty", strings.NewReader(`{"event":{}}`)))
			if rec.Code != c.code || strings.TrimSpace(rec.Body.String()) != c.body {
				t.Fatalf("%d %q, want %d %q", rec.Code, rec.Body.String(), c.code, c.body)
			}
		})
	}
}
