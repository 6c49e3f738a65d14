package discord_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"opsbot/bot/forms"
	"opsbot/config"
	"opsbot/incidents"
	"opsbot/store/storetest"
	verbs "opsbot/verbs/incident"
)

// The incident form's channel field on Discord is a text input (discordgo
// v0.29.0 has no Label component, which selects in modals need): a
// channel link or id opsbot posts incidents to opens the incident there,
// anything else is refused with the channels to choose from, and nothing
// is opened. The submit runs the real incident open.
func TestIncidentFormChannel(t *testing.T) {
	const war = "610000000000000002"
	e := newEnv(t, "http")
	e.setCfg(func(c *config.Config) {
		c.Channels.Incident = "discord:610000000000000009"
		c.Channels.Allow = []string{"discord:" + channel, "discord:" + war}
	})
	st := storetest.SQLite(t)
	svc := incidents.New(st, nil, func() *config.Config { return e.cfgp.Load() }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.reg.MustRegister(verbs.Verbs(verbs.Deps{Incidents: svc})...)

	// The form shows the field, a text input, the fifth and last row.
	click := e.fake.NewClick(alice, channel, "", forms.Button+":incident-open")
	if code, body := e.deliver(click); code != http.StatusOK || body["type"] != float64(9) {
		t.Fatalf("form button answered %d %v", code, body)
	}
	m := e.interaction(click.Token).Modal
	if m == nil || len(m.Components) != 5 || m.Components[4].Components[0].CustomID != "channel" || m.Components[4].Components[0].Type != 4 {
		t.Fatalf("modal %+v", m)
	}

	ctx := context.Background()
	refused := map[string]string{
		"#war-room":                   `the channel must be a channel mention (#channel), its link or its id, got "#war-room"`,
		"<#610000000000000003>":       "choose one of: <#610000000000000009>, <#" + channel + ">, <#" + war + ">",
		"slack:C0WAR":                 "is not one opsbot posts incidents to",
		"610000000000000004 trailing": "the channel must be",
	}
	for v, want := range refused {
		in := e.fake.NewModalSubmit(alice, channel, "form:incident-open", map[string]string{"title": "API down", "sev": "critical", "channel": v})
		_, body := e.deliver(in)
		got := fmt.Sprint(dig(body, "data"))
		if !strings.Contains(got, want) || dig(body, "data", "flags") != float64(64) {
			t.Errorf("channel %q answered %v, want %q", v, body, want)
		}
	}
	if list, err := st.ListIncidents(ctx, false, 10); err != nil || len(list) != 0 {
		t.Fatalf("refused forms opened %d incidents (%v)", len(list), err)
	}

	for i, v := range []string{"<#" + war + ">", war, "https://discord.com/channels/" + theGuild + "/" + war, ""} {
		in := e.fake.NewModalSubmit(alice, channel, "form:incident-open", map[string]string{"title": "API down " + v, "sev": "warning", "channel": v})
		_, body := e.deliver(in)
		if got := fmt.Sprint(dig(body, "data")); !strings.Contains(got, "Opened incident") {
			t.Fatalf("channel %q answered %v", v, body)
		}
		inc, err := st.Incident(ctx, int64(i+1))
		want := "discord:" + war
		if v == "" {
			want = "discord:610000000000000009"
		}
		if err != nil || inc.Channel != want {
			t.Errorf("channel %q: incident in %q (%v), want %s", v, inc.Channel, err, want)
		}
	}
}
