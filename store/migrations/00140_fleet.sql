-- +goose Up
-- The fleet: one row per host running `opsbot agent`. Labels, targets and
-- the last metrics are JSON; times are milliseconds since the epoch. The
-- agent refreshes last_heartbeat every heartbeat_every_ms; the leader
-- raises host_down when three intervals pass without one (unless the agent
-- stopped cleanly: stopped_at is then set).
CREATE TABLE hosts (
    name               TEXT PRIMARY KEY,
    version            TEXT NOT NULL DEFAULT '',
    labels             TEXT NOT NULL DEFAULT '{}',
    targets            TEXT NOT NULL DEFAULT '[]',
    heartbeat_every_ms BIGINT NOT NULL,
    incarnation        TEXT NOT NULL DEFAULT '',
    started_at         BIGINT NOT NULL,
    last_heartbeat     BIGINT NOT NULL,
    stopped_at         BIGINT,
    metrics            TEXT NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE hosts;
