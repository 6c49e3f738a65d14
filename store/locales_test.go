package store_test

import (
	"context"
	"testing"
	"time"

	"opsbot/store"
	"opsbot/store/storetest"
)

func TestChannelLocale(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if l, err := s.ChannelLocale(ctx, "slack:C1"); err != nil || l != "" {
			t.Fatalf("unset = %q, %v", l, err)
		}
		at := time.Unix(1_790_000_000, 0)
		if err := s.SetChannelLocale(ctx, "slack:C1", "zh-CN", "slack:U1", at); err != nil {
			t.Fatal(err)
		}
		if err := s.SetChannelLocale(ctx, "slack:C1", "en", "slack:U2", at); err != nil {
			t.Fatal(err)
		}
		if err := s.SetChannelLocale(ctx, "discord:9", "zh-CN", "discord:7", at); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.ChannelLocale(ctx, "slack:C1"); l != "en" {
			t.Errorf("after a second set = %q, want en", l)
		}
		if l, _ := store.ChannelLocale(ctx, s.DB, "discord:9"); l != "zh-CN" {
			t.Errorf("other channel = %q", l)
		}
		if had, err := s.ClearChannelLocale(ctx, "slack:C1"); err != nil || !had {
			t.Fatalf("clear = %v, %v", had, err)
		}
		if had, _ := s.ClearChannelLocale(ctx, "slack:C1"); had {
			t.Error("cleared twice")
		}
		if l, _ := s.ChannelLocale(ctx, "slack:C1"); l != "" {
			t.Errorf("after clear = %q", l)
		}
	})
}
