package slack

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"opsbot/config"
	"opsbot/incidents"
	"opsbot/store/storetest"
	verbs "opsbot/verbs/incident"
)

// pickSubmission is a view_submission of the incident form whose channel
// was picked in Slack's conversation picker.
func pickSubmission(t *testing.T, user, here string, values map[string]string, picked string) string {
	t.Helper()
	state := map[string]any{}
	for id, v := range values {
		state[id] = map[string]any{id: map[string]any{"type": "plain_text_input", "value": v}}
	}
	state["channel"] = map[string]any{"channel": map[string]any{"type": "conversations_select", "selected_conversation": picked}}
	state["lead"] = map[string]any{"lead": map[string]any{"type": "users_select", "selected_user": "U0LEAD"}}
	b, err := json.Marshal(map[string]any{
		"type": "view_submission", "user": map[string]any{"id": user, "username": "admin", "name": "admin"},
		"view": map[string]any{"id": "V0FAKE", "type": "modal", "callback_id": "form:incident-open", "private_metadata": here, "state": map[string]any{"values": state}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The incident form's channel field is Slack's conversation picker,
// starting on the incident channel; a channel opsbot does not post
// incidents to is refused on the form, which stays open, and nothing is
// opened; a known one runs the real incident open with --channel.
func TestIncidentFormChannel(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Channels.Incident = "slack:C0INC"
		c.Channels.Allow = []string{"slack:C0OPS", "slack:C0WAR"}
	})
	ctx := ctxT(t)
	st := storetest.SQLite(t)
	svc := incidents.New(st, nil, func() *config.Config { return e.cfg }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.reg.MustRegister(verbs.Verbs(verbs.Deps{Incidents: svc})...)

	decode(t, e.signed(CommandsPath, e.slash("UADMIN", "incident open", "r1").Encode()).Body)
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := e.fake.Views()[0]
	if v.Inputs["channel"] != "C0INC" || !strings.Contains(string(v.Raw), `"type":"conversations_select"`) || !strings.Contains(string(v.Raw), `"type":"users_select"`) {
		t.Fatalf("view %s: want a conversation picker on C0INC and a member picker", v.Raw)
	}

	fields := map[string]string{"title": "API down", "sev": "critical"}
	for picked, want := range map[string]string{"C0SECRET": "pick one of C0INC, C0OPS, C0WAR", "D0ALICE": "must be a channel"} {
		res := e.signed(InteractionsPath, url.Values{"payload": {pickSubmission(t, "UADMIN", "C0OPS", fields, picked)}}.Encode())
		got := decode(t, res.Body)
		if msg, _ := dig(got, "errors", "channel").(string); got["response_action"] != "errors" || !strings.Contains(msg, want) {
			t.Errorf("picked %s: answered %v, want %q on the channel field", picked, got, want)
		}
	}
	if list, err := st.ListIncidents(context.Background(), false, 10); err != nil || len(list) != 0 {
		t.Fatalf("a refused form opened %d incidents (%v)", len(list), err)
	}

	res := e.signed(InteractionsPath, url.Values{"payload": {pickSubmission(t, "UADMIN", "C0OPS", fields, "C0WAR")}}.Encode())
	if b, _ := io.ReadAll(res.Body); len(strings.TrimSpace(string(b))) > 0 {
		t.Fatalf("a good form answered %s, want an empty body (the form closes)", b)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Messages()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if m := e.fake.Messages()[0]; m.Channel != "C0OPS" || !strings.Contains(m.Text+string(m.Blocks), "Opened incident #1") {
		t.Errorf("answer %+v", m)
	}
	if inc, err := st.Incident(context.Background(), 1); err != nil || inc.Channel != "slack:C0WAR" || inc.Lead != "<@U0LEAD>" {
		t.Errorf("incident in %q led by %q (%v), want slack:C0WAR and <@U0LEAD>", inc.Channel, inc.Lead, err)
	}
}
