package notifier_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	slackbot "opsbot/bot/slack"
	"opsbot/bot/slack/slackfake"
	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
)

const (
	envChild = "OPSBOT_NOTIFIER_CHILD_DB"
	envAPI   = "OPSBOT_NOTIFIER_CHILD_SLACK"
)

func TestMain(m *testing.M) {
	if db := os.Getenv(envChild); db != "" {
		os.Exit(deliveryChild(db, os.Getenv(envAPI)))
	}
	os.Exit(m.Run())
}

// deliveryChild is opsbot's delivery side in a process of its own: the
// notifier's worker posting through the Slack adapter until the outbox is
// empty.
func deliveryChild(db, api string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	st, err := store.Open(ctx, "sqlite", db)
	if err != nil {
		log.Error("open store", "err", err)
		return 2
	}
	defer st.Close()
	cfg := config.Default()
	cfg.Slack.APIURL = api
	cfg.Secrets.SlackBotToken = slackfake.BotToken
	getCfg := func() *config.Config { return cfg }
	router := chat.NewRouter()
	router.Set("slack", slackbot.New(getCfg, nil, log).Poster())
	n := notifier.New(st, router, getCfg, log)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		if p, err := n.Pending(ctx); err == nil && p == 0 {
			cancel()
			if err := <-done; err != nil {
				log.Error("run", "err", err)
				return 3
			}
			return 0
		}
	}
	return 4
}

// A crash between the platform receiving a message and the outbox marking
// it delivered: the restarted worker finds the message by its key (Slack
// metadata) and does not post it again.
func TestCrashBetweenSendAndMark(t *testing.T) {
	ctx := context.Background()
	fake := slackfake.New()
	defer fake.Close()
	// In front of the fake: the first post reaches it (and is recorded
	// there), then the answer is held back until the child is killed.
	received := make(chan struct{})
	var once sync.Once
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, fake.URL()+r.URL.Path, bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		hold := false
		if strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			once.Do(func() { hold = true })
		}
		if hold {
			close(received)
			<-r.Context().Done() // the child dies holding this request
			return
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	}))
	defer front.Close()

	db := filepath.Join(t.TempDir(), "opsbot.db")
	st, err := store.Open(ctx, "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Notifier.GroupWait = 0
	n := notifier.New(st, nil, func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
	if err := n.Subscribe(ctx, "slack:C0OPS", []string{"threshold"}, "", "", "test"); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(ctx, firing("cpu/api", "threshold", "cpu_high", "api", "critical", "CPU 97%", 97)); err != nil {
		t.Fatal(err)
	}
	if err := n.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	st.Close()

	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envChild+"="+db, envAPI+"="+front.URL+"/api/")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := child()
	select {
	case <-received:
	case <-time.After(30 * time.Second):
		_ = first.Process.Kill()
		t.Fatal("the fake never received the message")
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	st, err = store.Open(ctx, "sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row, err := store.OutboxByID(ctx, st.DB, 1)
	if err != nil {
		t.Fatal(err)
	}
	if row.Attempts != 1 || !row.DeliveredAt.IsZero() {
		t.Fatalf("after the kill the row should be tried once and unmarked: %+v", row)
	}
	if got := len(fake.Messages()); got != 1 {
		t.Fatalf("fake has %d messages before the restart", got)
	}

	second := child()
	waitErr := make(chan error, 1)
	go func() { waitErr <- second.Wait() }()
	select {
	case err := <-waitErr:
		if err != nil {
			t.Fatalf("restarted child: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = second.Process.Kill()
		t.Fatal("restarted child did not finish delivery")
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || fake.Calls("chat.postMessage") != 1 {
		t.Fatalf("fake shows %d messages after %d posts, want exactly 1", len(msgs), fake.Calls("chat.postMessage"))
	}
	if !strings.Contains(string(msgs[0].Metadata), `"key":"1"`) {
		t.Fatalf("message carries no outbox key: %s", msgs[0].Metadata)
	}
	row, _ = store.OutboxByID(ctx, st.DB, 1)
	ref, err := store.RefOf(ctx, st.DB, 1)
	if row.DeliveredAt.IsZero() || err != nil || ref.MessageID != msgs[0].TS || ref.Address != "slack:C0OPS" {
		t.Fatalf("row %+v ref %+v (%v), fake ts %s", row, ref, err, msgs[0].TS)
	}
	if row.Attempts != 1 {
		t.Fatalf("restarted worker sent again (attempts %d)", row.Attempts)
	}
}
