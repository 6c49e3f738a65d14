package slackfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// The fake refuses a picker Slack refuses: a name where an id goes, an
// unknown filter, a channels_select with a filter.
func TestFakeRefusesBadPickers(t *testing.T) {
	f := New()
	defer f.Close()
	view := func(el string) string {
		return `{"type":"modal","title":{"type":"plain_text","text":"Open"},"submit":{"type":"plain_text","text":"Go"},"blocks":[{"type":"input","block_id":"channel","label":{"type":"plain_text","text":"Channel"},"element":` + el + `}]}`
	}
	cases := map[string]string{
		`{"type":"conversations_select","action_id":"channel","initial_conversation":"C0INC","filter":{"include":["public","private"]}}`: "",
		`{"type":"conversations_select","action_id":"channel","initial_conversation":"#incidents"}`:                                      "invalid_arguments",
		`{"type":"conversations_select","action_id":"channel","filter":{"include":["channels"]}}`:                                        "invalid_arguments",
		`{"type":"conversations_select","action_id":"channel","filter":{"include":[]}}`:                                                  "invalid_arguments",
		`{"type":"channels_select","action_id":"channel","filter":{"include":["public"]}}`:                                               "invalid_arguments",
		`{"type":"channels_select","action_id":"channel","initial_channel":"C0INC"}`:                                                     "",
		`{"type":"conversations_select","initial_conversation":"C0INC"}`:                                                                 "invalid_arguments",
	}
	for el, want := range cases {
		body, _ := json.Marshal(map[string]any{"trigger_id": "t1", "view": json.RawMessage(view(el))})
		req, _ := http.NewRequest(http.MethodPost, f.APIURL()+"views.open", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("Authorization", "Bearer "+BotToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if want == "" && out["ok"] != true || want != "" && out["error"] != want {
			t.Errorf("%s: %v, want %q", el, out, want)
		}
	}
}
