package slackfake

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
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

// A file cannot be shared into a direct message opsbot never opened.
func TestUploadToAnUnopenedDMIsRefused(t *testing.T) {
	f := New()
	defer f.Close()
	call := func(method string, form map[string]string) map[string]any {
		t.Helper()
		v := make(url.Values)
		v.Set("token", BotToken)
		for k, x := range form {
			v.Set(k, x)
		}
		res, err := http.PostForm(f.APIURL()+method, v)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	up := call("files.getUploadURLExternal", map[string]string{"filename": "a.txt", "length": "3"})
	id, _ := up["file_id"].(string)
	body := &bytes.Buffer{}
	mw := multipart.NewWriter(body)
	fw, _ := mw.CreateFormFile("file", "a.txt")
	_, _ = fw.Write([]byte("abc"))
	_ = mw.Close()
	res, err := http.Post(up["upload_url"].(string), mw.FormDataContentType(), body)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	files := `[{"id":"` + id + `","title":"a.txt"}]`
	if out := call("files.completeUploadExternal", map[string]string{"files": files, "channel_id": "DALICE"}); out["error"] != "channel_not_found" {
		t.Fatalf("unopened DM: %v", out)
	}
	if out := call("conversations.open", map[string]string{"users": "UALICE"}); out["ok"] != true {
		t.Fatalf("open: %v", out)
	}
	if out := call("files.completeUploadExternal", map[string]string{"files": files, "channel_id": "DALICE"}); out["ok"] != true {
		t.Fatalf("opened DM: %v", out)
	}
}
