package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"opsbot/incident"
	"opsbot/internal/race"
	"opsbot/store"
	"opsbot/store/storetest"
	"opsbot/textclip"
	"opsbot/textclip/textcliptest"
)

// textLimits are cuts text meets on its way to the store: a byte or two,
// the registry's audit text (500 bytes) and detail (1000), and more.
var textLimits = []int{1, 2, 3, 4, 5, 7, 40, 120, 300, 500, 999, 1000}

// randomTexts is 10,000, a tenth under the race detector (eight writers
// still race on every dialect, over 1,000 texts instead of 10,000).
var randomTexts = race.Scale(10_000)

// 10,000 random strings of CJK, emoji, combining marks, right-to-left
// script, NUL and invalid bytes, cut at every limit on a character
// boundary, and also raw or cut inside a character (as a byte slice
// would): every audit row (and one in ten as a timeline note cut at 2000
// characters and an alert summary) is stored on SQLite and PostgreSQL, none
// is refused, and each reads back as valid UTF-8 without NUL, the cut text
// byte for byte.
func TestRandomMultibyteTextIsStoredOnEveryDialect(t *testing.T) {
	texts := textcliptest.Strings(13, randomTexts, 1200)
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		incID, err := s.CreateIncident(ctx, incident.Incident{Title: texts[0][:min(len(texts[0]), 5)] + "标题", Severity: "critical", Stage: incident.Discovery,
			OpenedBy: "slack:U1", OpenedAt: base, StageAt: base, ClockAt: base}, incident.Entry{At: base, Actor: "slack:U1", Kind: incident.KindOpened, Stage: incident.Discovery, Text: "opened"})
		if err != nil {
			t.Fatal(err)
		}
		type want struct{ text, detail, user, note string }
		wants := make([]want, len(texts))
		ids := make([]int64, len(texts))
		var g errgroup.Group
		g.SetLimit(8)
		for i, raw := range texts {
			n := textLimits[i%len(textLimits)]
			cut := textclip.Bytes(raw, n, textclip.Ellipsis)
			split := raw[:min(len(raw), n)] // may end inside a character
			wants[i] = want{text: textclip.Valid(cut), detail: textclip.Valid(raw), user: textclip.Valid(split)}
			if i%10 == 0 {
				wants[i].note = textclip.Runes(strings.Repeat(raw, 8), 2000, textclip.Ellipsis)
			}
			g.Go(func() error {
				id, err := s.AddAudit(ctx, store.AuditRow{At: store.T(base.Add(time.Duration(i) * time.Millisecond)), Platform: "slack",
					UserID: "U1", UserName: split, Verb: "logs", Text: cut, Result: "error", Detail: raw})
				if err != nil {
					return fmt.Errorf("audit %d (%q): %w", i, cut, err)
				}
				ids[i] = id
				if i%10 == 0 {
					if _, err := s.AddIncidentEvent(ctx, incID, incident.Entry{At: base.Add(time.Duration(i+1) * time.Millisecond), Actor: "slack:U1",
						Kind: incident.KindNote, Text: wants[i].note}); err != nil {
						return fmt.Errorf("note %d: %w", i, err)
					}
					a := store.AlertRow{Fingerprint: fmt.Sprintf("fp-%d", i), Kind: "threshold", Rule: "errors", Severity: "warning",
						Summary: split, StartedAt: store.T(base), LastSeenAt: store.T(base), RouteAt: store.T(base)}
					if err := store.InsertAlert(ctx, s.DB, &a); err != nil {
						return fmt.Errorf("alert %d: %w", i, err)
					}
					if err := store.TouchAlert(ctx, s.DB, a.ID, base, 1, raw); err != nil {
						return fmt.Errorf("touch alert %d: %w", i, err)
					}
					got, err := store.AlertByID(ctx, s.DB, a.ID)
					if err != nil {
						return err
					}
					if got.Summary != wants[i].detail {
						return fmt.Errorf("alert %d summary %q, want %q", i, got.Summary, wants[i].detail)
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}

		rows, err := s.AuditSince(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(texts) {
			t.Fatalf("%d audit rows, want %d", len(rows), len(texts))
		}
		byID := map[int64]store.AuditRow{}
		for _, r := range rows {
			byID[r.ID] = r
		}
		for i, w := range wants {
			r := byID[ids[i]]
			if r.Text != w.text || r.Detail != w.detail || r.UserName != w.user {
				t.Fatalf("audit %d read back as text %q detail %.200q user %q; want %q, %.200q, %q", i, r.Text, r.Detail, r.UserName, w.text, w.detail, w.user)
			}
			if all := r.Text + r.Detail + r.UserName; !utf8.ValidString(all) || strings.Contains(all, "\x00") {
				t.Fatalf("audit %d holds invalid UTF-8 or NUL", i)
			}
		}
		tl, err := s.IncidentTimeline(ctx, incID)
		if err != nil {
			t.Fatal(err)
		}
		if len(tl) != len(texts)/10+1 {
			t.Fatalf("%d timeline entries, want %d", len(tl), len(texts)/10+1)
		}
		for j, e := range tl[1:] {
			if want := textclip.Valid(wants[10*j].note); e.Text != want {
				t.Fatalf("note %d read back as %.200q, want %.200q", 10*j, e.Text, want)
			}
		}
	})
}
