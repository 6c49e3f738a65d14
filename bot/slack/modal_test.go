package slack

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"

	"opsbot/bot/forms"
	"opsbot/bot/slack/slackfake"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
)

// submission is a view_submission payload as Slack sends it.
func submission(t *testing.T, user, callback, channel string, values map[string]string) string {
	t.Helper()
	state := map[string]any{}
	for id, v := range values {
		state[id] = map[string]any{id: map[string]any{"type": "plain_text_input", "value": v}}
		if opt, ok := strings.CutPrefix(v, "select:"); ok {
			// A static select's answer.
			state[id] = map[string]any{id: map[string]any{"type": "static_select", "selected_option": map[string]any{"value": opt}}}
		}
	}
	b, err := json.Marshal(map[string]any{
		"type": "view_submission", "user": map[string]any{"id": user, "username": strings.ToLower(user), "name": strings.ToLower(user)},
		"view": map[string]any{"id": "V0FAKE", "type": "modal", "callback_id": callback, "private_metadata": channel, "state": map[string]any{"values": state}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFormsOpenAsModalsAndRunTheirCommand(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Targets = []config.Target{{Name: "api"}, {Name: "worker"}} })
	ctx := ctxT(t)
	var mu sync.Mutex
	var calls [][]string
	rec := func(_ context.Context, c *commands.Call) (commands.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		call := append([]string{c.Path}, c.Args...)
		if c.Path == "incident open" {
			call = append(call, "sev="+c.Flag("sev"), "target="+c.Flag("target"))
		}
		calls = append(calls, call)
		return commands.Text("done: %s", c.Path), nil
	}
	e.reg.MustRegister(
		&commands.Verb{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{
			{Name: "open", Access: policy.Read, Summary: "open", Params: []commands.Param{{Name: "title", Required: true, Rest: true}},
				Flags: []commands.Flag{{Name: "sev", Choices: []string{"critical", "warning"}}, {Name: "target"}}, Run: rec},
		}},
		&commands.Verb{Name: "silence", Access: policy.Read, Summary: "silence", Params: []commands.Param{{Name: "matcher", Required: true}, {Name: "duration", Required: true}, {Name: "reason", Rest: true}}, Run: rec},
	)
	last := func() []string {
		mu.Lock()
		defer mu.Unlock()
		if len(calls) == 0 {
			return nil
		}
		return calls[len(calls)-1]
	}

	// The Silence… button opens the modal, matchers prefilled.
	e.signed(InteractionsPath, url.Values{"payload": {e.click("UADMIN", forms.Button, "silence:rule=disk,target=api", "c1")}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := e.fake.Views()[0]
	if v.CallbackID != "form:silence:rule=disk,target=api" || v.PrivateMetadata != "C0OPS" || v.Inputs["matcher"] != "rule=disk,target=api" || v.Inputs["duration"] != "1h" {
		t.Fatalf("view %+v", v)
	}

	// Submitted, it runs /ops silence and answers in the channel.
	res := e.signed(InteractionsPath, url.Values{"payload": {submission(t, "UADMIN", v.CallbackID, v.PrivateMetadata,
		map[string]string{"matcher": "rule=disk,target=api", "duration": "2h", "reason": "-v planned"})}}.Encode())
	if res.StatusCode != 200 {
		t.Fatalf("submission answered %d", res.StatusCode)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Messages()) == 1 }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(last(), "|"); got != "silence|rule=disk,target=api|2h|-v planned" {
		t.Errorf("call %s", got)
	}
	if m := e.fake.Messages()[0]; m.Channel != "C0OPS" || !strings.Contains(m.Text, "done: silence") {
		t.Errorf("answer %+v", m)
	}

	// A required answer left empty keeps the form open with the reason.
	res = e.signed(InteractionsPath, url.Values{"payload": {submission(t, "UADMIN", "form:incident-open", "C0OPS", map[string]string{"title": " ", "sev": "critical"})}}.Encode())
	if got := decode(t, res.Body); got["response_action"] != "errors" || dig(got, "errors", "title") == nil {
		t.Errorf("empty title answered %v", got)
	}

	// /ops incident open typed without a title opens the form.
	ack := decode(t, e.signed(CommandsPath, e.slash("UADMIN", "incident open", "r9").Encode()).Body)
	if ack["text"] != msgFormOpened {
		t.Fatalf("ack %v", ack)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Views()) == 2 }); err != nil {
		t.Fatal(err)
	}
	if v := e.fake.Views()[1]; v.CallbackID != "form:incident-open" || v.Inputs["sev"] != "critical" ||
		strings.Count(string(v.Raw), `"type":"static_select"`) != 2 || !strings.Contains(string(v.Raw), `"value":"worker"`) {
		t.Errorf("view %+v: severity and target are picked from lists", v)
	}
	e.signed(InteractionsPath, url.Values{"payload": {submission(t, "UADMIN", "form:incident-open", "C0OPS",
		map[string]string{"title": "API down", "sev": "select:warning", "target": "select:worker"})}}.Encode())
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Messages()) == 2 }); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(last(), "|"); got != "incident open|API down|sev=warning|target=worker" {
		t.Errorf("call %s", got)
	}
	// With its arguments it runs as ever.
	got := decode(t, e.signed(CommandsPath, e.slash("UADMIN", "incident open API down --sev warning", "r10").Encode()).Body)
	if !strings.Contains(got["text"].(string), "done: incident open") || strings.Join(last(), "|") != "incident open|API down|sev=warning|target=" {
		t.Errorf("typed: %v, call %v", got, last())
	}
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

// Over Socket Mode a form's submission is acknowledged on the socket: the
// ack shows what is missing, or closes the form and the command runs.
func TestFormSubmissionOverSocketMode(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Secrets.SlackAppToken = slackfake.AppToken
		c.Secrets.SlackSigningSecret = ""
	})
	ctx := ctxT(t)
	ran := make(chan string, 1)
	e.reg.MustRegister(&commands.Verb{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{
		{Name: "note", Access: policy.Read, Summary: "note", Params: []commands.Param{{Name: "id", Required: true}, {Name: "text", Required: true, Rest: true}},
			Run: func(_ context.Context, c *commands.Call) (commands.Response, error) {
				ran <- c.Arg(0) + ": " + c.Arg(1)
				return commands.Text("noted"), nil
			}},
	}})
	e.run()
	if err := e.fake.Await(ctx, func() bool { return e.fake.Connected() == 1 }); err != nil {
		t.Fatal(err)
	}
	id, err := e.fake.SendInteraction(json.RawMessage(submission(t, "UADMIN", "form:incident-note:7", "C0OPS", map[string]string{"text": ""})))
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.fake.Ack(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if m := decodeRaw(t, ack); m["response_action"] != "errors" {
		t.Fatalf("ack %s", ack)
	}
	id, err = e.fake.SendInteraction(json.RawMessage(submission(t, "UADMIN", "form:incident-note:7", "C0OPS", map[string]string{"text": "rolled back"})))
	if err != nil {
		t.Fatal(err)
	}
	if ack, err = e.fake.Ack(ctx, id); err != nil || (len(ack) > 0 && string(ack) != "null") {
		t.Fatalf("ack %s %v, want none (the form closes)", ack, err)
	}
	select {
	case got := <-ran:
		if got != "7: rolled back" {
			t.Errorf("ran %q", got)
		}
	case <-ctx.Done():
		t.Fatal("the note never ran")
	}
}

// /ops incident note without an id opens the note form with the open
// incidents to pick from; the pick is the incident noted.
func TestNoteFormPicksAnOpenIncident(t *testing.T) {
	open := WithFormList(forms.ListIncidents, func(context.Context) ([]forms.Choice, error) {
		return []forms.Choice{{Value: "9", Label: "#9 API down"}, {Value: "7", Label: "#7 disk full"}}, nil
	})
	e := newEnv(t, nil, open)
	ctx := ctxT(t)
	ran := make(chan string, 1)
	e.reg.MustRegister(&commands.Verb{Name: "incident", Summary: "incidents", Subs: []*commands.Verb{
		{Name: "note", Access: policy.Read, Summary: "note", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}, {Name: "text", Required: true, Rest: true}},
			Run: func(_ context.Context, c *commands.Call) (commands.Response, error) {
				ran <- c.Arg(0) + ": " + c.Arg(1)
				return commands.Text("noted"), nil
			}},
	}})
	if ack := decode(t, e.signed(CommandsPath, e.slash("UADMIN", "incident note", "r1").Encode()).Body); ack["text"] != msgFormOpened {
		t.Fatalf("ack %v", ack)
	}
	if err := e.fake.Await(ctx, func() bool { return len(e.fake.Views()) == 1 }); err != nil {
		t.Fatal(err)
	}
	v := e.fake.Views()[0]
	if v.CallbackID != "form:incident-note" || strings.Count(string(v.Raw), `"type":"static_select"`) != 1 ||
		!strings.Contains(string(v.Raw), `"text":"#7 disk full"`) || !strings.Contains(string(v.Raw), `"value":"9"`) {
		t.Fatalf("view %+v %s", v, v.Raw)
	}
	e.signed(InteractionsPath, url.Values{"payload": {submission(t, "UADMIN", v.CallbackID, v.PrivateMetadata,
		map[string]string{"incident": "select:7", "text": "rolled back"})}}.Encode())
	select {
	case got := <-ran:
		if got != "7: rolled back" {
			t.Errorf("ran %q", got)
		}
	case <-ctx.Done():
		t.Fatal("the note never ran")
	}
}
