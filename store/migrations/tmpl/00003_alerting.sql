-- +goose Up
CREATE TABLE alerts (
    id            {{ID}},
    fingerprint   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    rule          TEXT NOT NULL,
    target        TEXT NOT NULL DEFAULT '',
    severity      TEXT NOT NULL,
    state         TEXT NOT NULL,
    labels        TEXT NOT NULL DEFAULT '{}',
    summary       TEXT NOT NULL DEFAULT '',
    value         DOUBLE PRECISION,
    started_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    resolved_at   BIGINT,
    acked_by      TEXT,
    acked_at      BIGINT
);
CREATE INDEX alerts_fingerprint ON alerts (fingerprint, state);

CREATE TABLE outbox (
    id            {{ID}},
    channel       TEXT NOT NULL,
    op            TEXT NOT NULL,
    payload       TEXT NOT NULL,
    alert_id      BIGINT,
    created_at    BIGINT NOT NULL,
    next_at       BIGINT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    delivered_at  BIGINT,
    parked_at     BIGINT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, parked_at, next_at);

-- Where a message landed, so it can be updated or threaded later.
CREATE TABLE message_refs (
    id          {{ID}},
    owner       TEXT NOT NULL,
    platform    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    thread_id   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX message_refs_owner ON message_refs (owner);

CREATE TABLE subscriptions (
    id            {{ID}},
    channel       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    min_severity  TEXT NOT NULL DEFAULT 'warning',
    oncall        TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (channel, kind)
);

CREATE TABLE silences (
    id          {{ID}},
    matcher     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    removed_at  BIGINT
);

-- +goose Down
DROP TABLE silences;
DROP TABLE subscriptions;
DROP TABLE message_refs;
DROP TABLE outbox;
DROP TABLE alerts;
