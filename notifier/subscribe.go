package notifier

import (
	"opsbot/alert"

	"context"
	"fmt"
	"slices"
	"strings"

	"opsbot/store"
)

// Subscribe subscribes channel to kinds at minSeverity ("" = warning),
// mentioning oncall ("" = nobody) on critical alerts. Every kind is checked
// before anything is stored.
func (n *Notifier) Subscribe(ctx context.Context, channel string, kinds []string, minSeverity, oncall, by string) error {
	return n.SubscribeMatching(ctx, channel, kinds, nil, minSeverity, oncall, by)
}

// SubscribeMatching is Subscribe narrowed by Alertmanager matchers on the
// alert's labels (severity="critical", target=~"api.*"): each kind becomes
// a route under the root with those matchers. Subscribing a channel to a
// kind again replaces its matchers.
func (n *Notifier) SubscribeMatching(ctx context.Context, channel string, kinds, matchers []string, minSeverity, oncall, by string) error {
	if channel == "" {
		return invalidf("no channel to subscribe")
	}
	if len(kinds) == 0 {
		return invalidf("name at least one kind: %s", strings.Join(alert.Kinds, ", "))
	}
	if minSeverity == "" {
		minSeverity = "warning"
	}
	if !slices.Contains(alert.Severities, minSeverity) {
		return invalidf("unknown severity %q (want %s)", minSeverity, strings.Join(alert.Severities, " or "))
	}
	for _, k := range kinds {
		if !slices.Contains(alert.Kinds, k) {
			return invalidf("unknown kind %q (want %s)", k, strings.Join(alert.Kinds, ", "))
		}
	}
	ms := ""
	if len(matchers) > 0 {
		parsed, err := ParseMatchers(matchers...)
		if err != nil {
			return err
		}
		ms = parsed.String()
	}
	now := n.Now()
	for _, k := range kinds {
		if err := n.st.Subscribe(ctx, store.Subscription{Channel: channel, Kind: k, MinSeverity: minSeverity, Oncall: oncall, CreatedBy: by, CreatedAt: store.T(now), Matchers: ms}); err != nil {
			return err
		}
	}
	return nil
}

// Unsubscribe removes channel's subscriptions to kinds and returns the
// kinds it had.
func (n *Notifier) Unsubscribe(ctx context.Context, channel string, kinds []string) ([]string, error) {
	if len(kinds) == 0 {
		return nil, invalidf("name at least one kind: %s", strings.Join(alert.Kinds, ", "))
	}
	for _, k := range kinds {
		if !slices.Contains(alert.Kinds, k) {
			return nil, invalidf("unknown kind %q (want %s)", k, strings.Join(alert.Kinds, ", "))
		}
	}
	var removed []string
	for _, k := range kinds {
		ok, err := n.st.Unsubscribe(ctx, channel, k)
		if err != nil {
			return removed, err
		}
		if ok {
			removed = append(removed, k)
		}
	}
	return removed, nil
}

// Subscriptions lists channel's subscriptions ("" = every channel's).
func (n *Notifier) Subscriptions(ctx context.Context, channel string) ([]store.Subscription, error) {
	return n.st.Subscriptions(ctx, channel)
}

// Recipients answers which channels would get an alert of kind and
// severity, with the on-call each would mention.
func (n *Notifier) Recipients(ctx context.Context, kind, severity string) ([]store.Subscription, error) {
	if !slices.Contains(alert.Kinds, kind) {
		return nil, invalidf("unknown kind %q (want %s)", kind, strings.Join(alert.Kinds, ", "))
	}
	if !slices.Contains(alert.Severities, severity) {
		return nil, invalidf("unknown severity %q (want %s)", severity, strings.Join(alert.Severities, " or "))
	}
	all, err := n.st.Subscriptions(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	var out []store.Subscription
	for _, s := range all {
		if s.Kind == kind && alert.SevRank(severity) >= alert.SevRank(s.MinSeverity) {
			out = append(out, s)
		}
	}
	return out, nil
}
