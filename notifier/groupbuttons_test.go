package notifier_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/notifier"
	"opsbot/rules"
	"opsbot/store"
	"opsbot/store/storetest"
)

// A message grouping several alerts carries Silence buttons for the labels
// its alerts share and one Diagnose button per distinct symptom (on that
// symptom's most severe alert). A click on Silence silences every alert of
// the group and nothing else.
func TestGroupedMessageButtons(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.cfg.Notifier.Repeat = time.Hour
		r.n.SetDiagnose("diagnose", rules.SymptomOf)
		r.cfg.Routing = config.Routing{
			Receivers: []config.Receiver{{Name: "ops", Channels: []string{"slack:COPS"}}},
			Route:     config.Route{Receiver: "ops", GroupBy: []string{"target"}},
		}
		if probs := r.cfg.Routing.Check(); len(probs) > 0 {
			t.Fatal(probs)
		}
		r.notify(t,
			firing("disk/api", "threshold", "disk_high", "api", "warning", "disk", 93),
			firing("cpu/api", "threshold", "cpu_high", "api", "critical", "cpu", 99),
			firing("mem/api", "threshold", "memory_high", "api", "warning", "mem", 91),
			firing("fc/api", "threshold", "disk_fill_forecast", "api", "warning", "forecast", 30),
			firing("disk/db", "threshold", "disk_high", "db", "warning", "disk", 95))
		r.drain(t)
		var group *fmsg
		for _, m := range p.posts("slack:COPS") {
			if strings.HasPrefix(m.Last().Title, "4 alerts") {
				group = m
			}
		}
		if group == nil || len(p.posts("slack:COPS")) != 2 {
			t.Fatalf("want the api group and the db alert: %d posts", len(p.posts("slack:COPS")))
		}
		ids := map[string]int64{}
		views, err := r.n.Alerts(ctx, notifier.AlertFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range views {
			ids[v.Rule+"/"+v.Target] = v.ID
		}
		m := group.Last()
		var silence4h string
		var diag []string
		for _, b := range m.Buttons {
			switch b.ID {
			case notifier.SilenceAction:
				if b.Label == "Silence 4h" {
					silence4h = b.Value
				}
			case "diagnose":
				diag = append(diag, b.Label+"="+b.Value)
			}
		}
		want := []string{
			"Diagnose api-down=" + strconv.FormatInt(ids["cpu_high/api"], 10),
			"Diagnose disk=" + strconv.FormatInt(ids["disk_high/api"], 10),
			"Diagnose memory=" + strconv.FormatInt(ids["memory_high/api"], 10),
		}
		if strings.Join(diag, " ") != strings.Join(want, " ") {
			t.Fatalf("diagnose buttons %q, want %q", diag, want)
		}
		if !strings.HasPrefix(silence4h, "msg:") || len(m.Buttons) != 1+3+3 {
			t.Fatalf("buttons %+v", m.Buttons)
		}
		if _, _, err := r.n.SilenceButton(ctx, "slack:COPS", silence4h, "slack:U1", time.Hour); err == nil || !strings.Contains(err.Error(), "at most 1 h") {
			t.Fatalf("4h with a 1h limit: %v", err)
		}
		after, s, err := r.n.SilenceButton(ctx, "slack:COPS", silence4h, "slack:U1", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if s.Matcher != `{kind="threshold", target="api"}` || !s.EndsAt.Equal(r.clk.Now().Add(4*time.Hour)) ||
			!strings.Contains(after.Context, "silenced 4 h by slack:U1") || !strings.HasPrefix(after.Title, "4 alerts") {
			t.Fatalf("silence %q until %s; message %q / %q", s.Matcher, s.EndsAt, after.Title, after.Context)
		}
		// Past the repeat interval only db repeats; a new alert on api is
		// silenced, one on db is posted.
		r.clk.Advance(time.Hour + time.Minute)
		r.notify(t,
			firing("lat/api", "threshold", "response_time_high", "api", "warning", "slow", 3),
			firing("lat/db", "threshold", "response_time_high", "db", "warning", "slow", 3))
		r.drain(t)
		var titles []string
		for _, m := range p.posts("slack:COPS")[2:] {
			titles = append(titles, m.Last().Title)
		}
		if strings.Contains(strings.Join(titles, " "), "api") || len(titles) == 0 {
			t.Fatalf("after the silence: %q (api must stay quiet, db must speak)", titles)
		}
		silenced, err := r.n.Alerts(ctx, notifier.AlertFilter{State: notifier.ShowSilenced})
		if err != nil || len(silenced) != 1 || silenced[0].Rule != "response_time_high" || silenced[0].Target != "api" {
			t.Fatalf("silenced %+v %v", silenced, err)
		}
	})
}

// A grouped message whose alerts share no label offers no Silence, and a
// forged value naming such a message is refused.
func TestGroupedMessageNothingShared(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		p := newPlatform(nil)
		r := newRig(t, st, p)
		r.cfg.Notifier.GroupWait = 0
		r.subscribe(t, "ops", "", "", "threshold", "health")
		a := firing("a", "threshold", "disk_high", "api", "warning", "disk", 93)
		b := firing("b", "health", "api_down", "db", "critical", "down", 1)
		r.notify(t, a, b)
		r.drain(t)
		ps := p.posts("ops")
		if len(ps) != 1 || !strings.HasPrefix(ps[0].Last().Title, "2 alerts") {
			t.Fatalf("posts %d", len(ps))
		}
		for _, bt := range ps[0].Last().Buttons {
			if bt.ID == notifier.SilenceAction {
				t.Fatalf("silence offered for alerts sharing nothing: %+v", bt)
			}
		}
		var outbox string
		for _, bt := range ps[0].Last().Buttons {
			if bt.ID == notifier.AckAction {
				outbox = strings.TrimPrefix(bt.Value, "msg:")
			}
		}
		if _, _, err := r.n.SilenceButton(ctx, "ops", "msg:"+outbox+":1h", "slack:U1", 24*time.Hour); err == nil || !strings.Contains(err.Error(), "share no label") {
			t.Fatalf("forged group silence: %v", err)
		}
		for _, bad := range []string{"msg:x:1h", "msg:1", "msg:1:0h", "msg:99999:1h"} {
			if _, _, err := r.n.SilenceButton(ctx, "ops", bad, "slack:U1", 24*time.Hour); err == nil {
				t.Fatalf("%q accepted", bad)
			}
		}
		if ss, _ := r.n.Silences(ctx); len(ss) != 0 {
			t.Fatalf("silences %+v", ss)
		}
	})
}
