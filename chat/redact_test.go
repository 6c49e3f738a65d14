package chat

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	r := NewRedactor([]string{"hunter2-configured"}, nil)
	cases := map[string]string{
		"db password=s3cret&user=x":                       "db password=[REDACTED]&user=x",
		"Authorization: Bearer abc.def.ghi":               "Authorization: [REDACTED]",
		"api_key=AKxyz123 next":                           "api_key=[REDACTED] next",
		"token xoxb-1234567890-abcdefghij":                "token [REDACTED]",
		"key sk-abcdefghijklmnopqrstuvwx used":            "key [REDACTED] used",
		"dsn postgres://ops:pw123@db/opsbot":              "dsn postgres://ops:[REDACTED]@db/opsbot",
		"the value hunter2-configured leaked":             "the value [REDACTED] leaked",
		"nothing secret here: GET /api/history 200 0.012": "nothing secret here: GET /api/history 200 0.012",
	}
	for in, want := range cases {
		if got := r.Redact(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}

func TestRedactMessageKeepsImages(t *testing.T) {
	r := NewRedactor([]string{"PNGSECRET"}, nil)
	png := []byte("\x89PNG\r\n\x1a\nPNGSECRET\xff\xfe")
	m := r.Message(Message{Text: "x PNGSECRET", Files: []File{{Name: "c.png", Mime: "image/png", Data: png}, {Name: "out.txt", Data: []byte("password=abc")}}})
	if string(m.Files[0].Data) != string(png) {
		t.Fatal("image bytes were rewritten")
	}
	if strings.Contains(string(m.Files[1].Data), "abc") || strings.Contains(m.Text, "PNGSECRET") {
		t.Fatalf("text not redacted: %+v", m)
	}
}
