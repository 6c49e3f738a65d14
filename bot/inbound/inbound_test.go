package inbound

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadBodyLimit(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
		code int
	}{{"small", true, 200}, {strings.Repeat("x", 65), false, http.StatusRequestEntityTooLarge}} {
		w := httptest.NewRecorder()
		got, ok := ReadBody(w, httptest.NewRequest("POST", "/", strings.NewReader(tc.body)), 64)
		if ok != tc.ok || (ok && string(got) != tc.body) || w.Code != tc.code {
			t.Errorf("%d bytes: ok %v code %d", len(tc.body), ok, w.Code)
		}
	}
}

func TestReplaySeenOnce(t *testing.T) {
	r := NewReplay(10, time.Minute)
	if r.Seen("sig") {
		t.Fatal("first sight reported as seen")
	}
	if !r.Seen("sig") {
		t.Fatal("replay not noticed")
	}
}
