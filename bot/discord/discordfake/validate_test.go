package discordfake

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

const ch = "600000000000000001"

// send makes one REST request as a bot would and returns status and body.
func send(t *testing.T, s *Server, method, path, ct string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bot "+s.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// multipartBody is payload_json plus files[n] parts.
func multipartBody(t *testing.T, payload string, files map[int]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	p, _ := w.CreateFormField("payload_json")
	_, _ = io.WriteString(p, payload)
	for n, data := range files {
		f, _ := w.CreateFormFile("files["+string(rune('0'+n))+"]", "f.txt")
		_, _ = io.WriteString(f, data)
	}
	_ = w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func TestRefusesWhatDiscordRefuses(t *testing.T) {
	s := New()
	defer s.Close()
	post := "/api/v10/channels/" + ch + "/messages"
	cases := []struct {
		name, path, body string
		status, code     int
		errPath          string
	}{
		{"api v9", "/api/v9/channels/" + ch + "/messages", `{"content":"x"}`, 400, 50041, ""},
		{"content over 2000", post, `{"content":"` + strings.Repeat("x", 2001) + `"}`, 400, 50035, "content"},
		{"attachment without its file", post, `{"content":"see file","attachments":[{"id":0,"filename":"output.txt"}]}`, 400, 50035, "attachments"},
		{"duplicate custom ids", post, `{"content":"x","components":[{"type":1,"components":[{"type":2,"style":1,"label":"a","custom_id":"ack:1"},{"type":2,"style":1,"label":"b","custom_id":"ack:1"}]}]}`, 400, 50035, "components"},
		{"six buttons in a row", post, `{"content":"x","components":[{"type":1,"components":[` + strings.TrimSuffix(strings.Repeat(`{"type":2,"style":1,"label":"a","custom_id":"x"},`, 6), ",") + `]}]}`, 400, 50035, "components"},
		{"parse users and a users list", post, `{"content":"x","allowed_mentions":{"parse":["users"],"users":["1"]}}`, 400, 50035, "allowed_mentions"},
		{"embed over 6000", post, `{"embeds":[{"description":"` + strings.Repeat("x", 4000) + `","fields":[{"name":"a","value":"` + strings.Repeat("y", 1024) + `"},{"name":"b","value":"` + strings.Repeat("y", 1024) + `"}],"footer":{"text":"` + strings.Repeat("z", 100) + `"}}]}`, 400, 50035, "embeds"},
	}
	for _, c := range cases {
		status, body := send(t, s, "POST", c.path, "application/json", []byte(c.body))
		if status != c.status || body["code"] != float64(c.code) {
			t.Errorf("%s: %d %v, want %d code %d", c.name, status, body, c.status, c.code)
			continue
		}
		if c.errPath != "" {
			if errs, _ := body["errors"].(map[string]any); errs[c.errPath] == nil {
				t.Errorf("%s: errors %v, want one under %q", c.name, body["errors"], c.errPath)
			}
		}
	}
	if n := len(s.Messages(ch)); n != 0 {
		t.Errorf("%d messages stored from refused requests", n)
	}
}

func TestUploadsAndV10EditSemantics(t *testing.T) {
	s := New()
	defer s.Close()
	post := "/api/v10/channels/" + ch + "/messages"
	ct, body := multipartBody(t, `{"content":"output attached","attachments":[{"id":0,"filename":"f.txt"}]}`, map[int]string{0: "line 1\n"})
	status, out := send(t, s, "POST", post, ct, body)
	if status != 200 {
		t.Fatalf("post with file: %d %v", status, out)
	}
	id := out["id"].(string)
	if m, _ := s.Message(id); len(m.Files) != 1 || string(m.Files[0].Data) != "line 1\n" {
		t.Fatalf("files %+v", m.Files)
	}
	// An edit with an empty attachments list and a new file attaches
	// nothing: v10 keeps only what the list names.
	ct, body = multipartBody(t, `{"content":"new output","attachments":[]}`, map[int]string{0: "line 2\n"})
	if status, out = send(t, s, "PATCH", post+"/"+id, ct, body); status != 200 {
		t.Fatalf("edit: %d %v", status, out)
	}
	if m, _ := s.Message(id); len(m.Files) != 0 {
		t.Fatalf("unlisted file kept: %+v", m.Files)
	}
	ct, body = multipartBody(t, `{"content":"new output","attachments":[{"id":0,"filename":"f.txt"}]}`, map[int]string{0: "line 3\n"})
	if status, out = send(t, s, "PATCH", post+"/"+id, ct, body); status != 200 {
		t.Fatalf("edit: %d %v", status, out)
	}
	if m, _ := s.Message(id); len(m.Files) != 1 || string(m.Files[0].Data) != "line 3\n" {
		t.Fatalf("listed file: %+v", m.Files)
	}
	big := strings.Repeat("x", MaxUpload+1)
	ct, body = multipartBody(t, `{"content":"big"}`, map[int]string{0: big})
	if status, out = send(t, s, "POST", post, ct, body); status != 413 || out["code"] != float64(40005) {
		t.Fatalf("over the upload limit: %d %v", status, out)
	}
}

func TestPingsFollowAllowedMentions(t *testing.T) {
	s := New()
	defer s.Close()
	post := "/api/v10/channels/" + ch + "/messages"
	content := `<@7> log: @everyone <@123> <@&456>`
	_, out := send(t, s, "POST", post, "application/json", []byte(`{"content":"`+content+`"}`))
	m, _ := s.Message(out["id"].(string))
	if got := strings.Join(m.Pings(), ","); got != "user:7,everyone,user:123,role:456" {
		t.Errorf("without allowed_mentions: %s", got)
	}
	_, out = send(t, s, "POST", post, "application/json", []byte(`{"content":"`+content+`","allowed_mentions":{"parse":[],"users":["7"]}}`))
	m, _ = s.Message(out["id"].(string))
	if got := strings.Join(m.Pings(), ","); got != "user:7" {
		t.Errorf("with allowed_mentions: %s", got)
	}
}
