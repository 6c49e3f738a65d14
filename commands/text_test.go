package commands_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/store/storetest"
	"opsbot/textclip/textcliptest"
)

// Long commands and error details of random multibyte text and invalid
// bytes are cut for the audit row on a character boundary: on SQLite and
// PostgreSQL every command leaves its row (PostgreSQL used to refuse a row
// cut inside a character, SQLSTATE 22021, and the row was lost), within
// the audit's sizes and valid UTF-8.
func TestAuditRowsOfMultibyteCommandsAreKept(t *testing.T) {
	const n = 500
	texts := textcliptest.Strings(17, n, 1600)
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cfg := config.Default()
		cfg.RateLimits.Default = config.RateLimit{Count: 10 * n, Per: time.Minute}
		reg := commands.NewRegistry(func() *config.Config { return cfg }, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
		reg.MustRegister(&commands.Verb{Name: "fail", Access: policy.Read, Summary: "fails with its text",
			Params: []commands.Param{{Name: "text", Rest: true}},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				return commands.Response{}, errors.New(c.Arg(0) + c.Arg(0))
			}})
		for i, s := range texts {
			resp := reg.Handle(context.Background(), commands.Request{Platform: "slack", User: "U1", UserName: "张伟", Channel: "C1",
				Text: "fail " + s, Args: []string{"fail", s}})
			if !strings.Contains(resp.Message.Text, "internal error") {
				t.Fatalf("command %d answered %q", i, resp.Message.Text)
			}
		}
		rows, err := st.RecentAudit(context.Background(), 2*n)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Fatalf("%d audit rows for %d commands", len(rows), n)
		}
		for _, r := range rows {
			if len(r.Text) > 500 || len(r.Detail) > 1000 || !utf8.ValidString(r.Text+r.Detail) || r.Verb != "fail" || r.Result != "failed" {
				t.Fatalf("audit row %d: text %d bytes, detail %d bytes, verb %q, result %q, valid %v",
					r.ID, len(r.Text), len(r.Detail), r.Verb, r.Result, utf8.ValidString(r.Text+r.Detail))
			}
		}
	})
}
