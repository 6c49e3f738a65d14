package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRefusesWhatSlackRefuses(t *testing.T) {
	s := New()
	defer s.Close()
	section := func(text string) string {
		b, _ := json.Marshal(map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": text}})
		return string(b)
	}
	many := make([]string, 51)
	for i := range many {
		many[i] = section("x")
	}
	cases := []struct{ name, text, blocks, want string }{
		{"51 blocks", "x", "[" + strings.Join(many, ",") + "]", "invalid_blocks"},
		{"section over 3000", "x", "[" + section(strings.Repeat("y", 3001)) + "]", "invalid_blocks"},
		{"header over 150", "x", `[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) + `"}}]`, "invalid_blocks"},
		{"duplicate action ids", "x", `[{"type":"actions","elements":[{"type":"button","action_id":"a","text":{"type":"plain_text","text":"A"}},{"type":"button","action_id":"a","text":{"type":"plain_text","text":"B"}}]}]`, "invalid_blocks"},
		{"text over 40000", strings.Repeat("t", 40001), "", "msg_too_long"},
		{"blocks not JSON", "x", "[{", "invalid_blocks"},
	}
	for _, c := range cases {
		form := url.Values{"token": {BotToken}, "channel": {"C1"}, "text": {c.text}}
		if c.blocks != "" {
			form.Set("blocks", c.blocks)
		}
		res, err := http.PostForm(s.APIURL()+"chat.postMessage", form)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if out["ok"] != false || out["error"] != c.want {
			t.Errorf("%s: %v, want %s", c.name, out, c.want)
		}
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d refused messages stored", n)
	}
	res, err := http.Post(s.ResponseURL("r1"), "application/json", strings.NewReader(`{"text":"x","blocks":[`+strings.Join(many, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), "invalid_blocks") || len(s.Responses("r1")) != 0 {
		t.Errorf("response_url: %d %s", res.StatusCode, b)
	}
}
