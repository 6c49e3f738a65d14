package config

import (
	"errors"
	"testing"
	"time"
)

// The lease's renewals and safety margin are fractions of its TTL: a TTL too
// short for them is refused with its key, a second or more is taken.
func TestLeaderTTL(t *testing.T) {
	c, err := LoadEnv("", map[string]string{})
	if err != nil || c.Leader.TTL != 20*time.Second {
		t.Fatalf("default ttl %v %v", c.Leader.TTL, err)
	}
	for _, v := range []string{"500ms", "0s", "-3s"} {
		_, err := LoadEnv("", map[string]string{"OPSBOT_LEADER_TTL": v})
		var probs Problems
		if !errors.As(err, &probs) || len(probs) != 1 || probs[0] != "leader.ttl: must be at least 1s, not "+mustDur(t, v).String() {
			t.Errorf("ttl %s: got %v", v, err)
		}
	}
	c, err = LoadEnv("", map[string]string{"OPSBOT_LEADER_TTL": "2s"})
	if err != nil || c.Leader.TTL != 2*time.Second {
		t.Fatalf("ttl 2s: %v %v", c.Leader.TTL, err)
	}
}

func mustDur(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
