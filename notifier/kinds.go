// Package notifier is the one writer of alert state: it takes observations
// from the inbox and routes alerts to the channels subscribed to them,
// delivering every message through a durable outbox.
package notifier
