-- +goose Up
CREATE TABLE audit (
    id          {{ID}},
    at          BIGINT NOT NULL,
    platform    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    user_name   TEXT NOT NULL DEFAULT '',
    channel     TEXT NOT NULL DEFAULT '',
    verb        TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE confirmations (
    id          {{ID}},
    token       TEXT NOT NULL UNIQUE,
    verb        TEXT NOT NULL,
    args        TEXT NOT NULL,
    requester   TEXT NOT NULL,
    platform    TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_by     TEXT,
    used_at     BIGINT,
    outcome     TEXT NOT NULL DEFAULT ''
);

-- Named locks with expiry (one restart per target across replicas) and the leader lease.
CREATE TABLE locks (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    epoch       BIGINT NOT NULL DEFAULT 0
);

-- Small durable state of checks: failure counters, restart budget, log offsets.
CREATE TABLE check_state (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE check_state;
DROP TABLE leases;
DROP TABLE locks;
DROP TABLE confirmations;
DROP TABLE audit;
