-- +goose Up
-- A subscription is a route: beyond its kind, Alertmanager matchers on the
-- alert's labels ({severity="critical", target=~"api.*"}).
ALTER TABLE subscriptions ADD COLUMN matchers TEXT NOT NULL DEFAULT '';
-- The firing alert (fingerprint) whose inhibition rule mutes this one.
ALTER TABLE alerts ADD COLUMN inhibited_by TEXT NOT NULL DEFAULT '';
-- What happened to an alert between its columns' milestones (started,
-- routed, acked, resolved): muted by a silence or an inhibition, by whom.
CREATE TABLE alert_events (
    id        {{ID}},
    alert_id  BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    state     TEXT NOT NULL,
    actor     TEXT NOT NULL DEFAULT '',
    note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- +goose Down
DROP TABLE alert_events;
ALTER TABLE alerts DROP COLUMN inhibited_by;
ALTER TABLE subscriptions DROP COLUMN matchers;
