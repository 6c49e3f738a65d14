package discordfake

import (
	"context"
	"crypto/ed25519"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

// editOriginal sends what a bot sends to edit @original and returns the status.
func editOriginal(t *testing.T, s *Server, token string) int {
	t.Helper()
	req, err := http.NewRequest("PATCH", s.URL()+"/api/v10/webhooks/"+s.AppID+"/"+token+"/messages/@original",
		strings.NewReader(`{"content":"done"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// gatedConn holds the reader's first Read until gate is closed: the test's
// client is late to read the answer, as on a busy machine.
type gatedConn struct {
	net.Conn
	gate <-chan struct{}
	once sync.Once
}

func (c *gatedConn) Read(b []byte) (int, error) {
	c.once.Do(func() { <-c.gate })
	return c.Conn.Read(b)
}

func gatedClient(gate <-chan struct{}) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &gatedConn{Conn: c, gate: gate}, nil
	}}}
}

// An edit sent once the answer went out is taken even when Deliver reads
// that answer only after the edit reached the fake.
func TestEditAfterAnswerWaitsForALateReader(t *testing.T) {
	s := New()
	defer s.Close()
	in := s.NewCommand(User{ID: "1", Name: "a"}, "2", Sub("slow"))
	// The reader goes only once the fake has the edit in hand (or has
	// answered it).
	gate := make(chan struct{})
	var open sync.Once
	s.holding = func() { open.Do(func() { close(gate) }) }
	edited := make(chan int, 1)
	ep := httptest.NewServer(s.Endpoint(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":5}`))
		w.(http.Flusher).Flush()
		go func() {
			st := editOriginal(t, s, in.Token)
			open.Do(func() { close(gate) })
			edited <- st
		}()
	})))
	defer ep.Close()
	code, _, err := s.Deliver(context.Background(), gatedClient(gate), ep.URL, testKey, time.Now(), in)
	if err != nil || code != 200 {
		t.Fatalf("deliver: %d %v", code, err)
	}
	if st := <-edited; st != 200 {
		t.Fatalf("edit answered %d, want 200", st)
	}
	got, _ := s.Interaction(in.Token)
	if strings.Join(got.Events, ",") != "callback 5,edit" || got.EarlyEdits != 0 {
		t.Errorf("events %v, early edits %d", got.Events, got.EarlyEdits)
	}
}

// An edit sent before the answer is refused, as Discord refuses it, even
// though the delivery is under way.
func TestEditBeforeAnswerIsRefused(t *testing.T) {
	s := New()
	defer s.Close()
	in := s.NewCommand(User{ID: "1", Name: "a"}, "2", Sub("slow"))
	var early int
	ep := httptest.NewServer(s.Endpoint(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		early = editOriginal(t, s, in.Token)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":5}`))
	})))
	defer ep.Close()
	if code, _, err := s.Deliver(context.Background(), nil, ep.URL, testKey, time.Now(), in); err != nil || code != 200 {
		t.Fatalf("deliver: %d %v", code, err)
	}
	if early != http.StatusNotFound {
		t.Errorf("early edit answered %d, want 404", early)
	}
	if editOriginal(t, s, in.Token) != 200 {
		t.Error("edit after the answer refused")
	}
	got, _ := s.Interaction(in.Token)
	if strings.Join(got.Events, ",") != "refused PATCH,callback 5,edit" || got.EarlyEdits != 1 {
		t.Errorf("events %v, early edits %d", got.Events, got.EarlyEdits)
	}
}
