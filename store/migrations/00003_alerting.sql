-- +goose Up
-- One row per firing episode of an alert: a fingerprint that fires, resolves
-- and fires again has two rows.
CREATE TABLE alerts (
    id             {{ID}},
    fingerprint    TEXT NOT NULL,
    kind           TEXT NOT NULL,
    rule           TEXT NOT NULL,
    target         TEXT NOT NULL DEFAULT '',
    severity       TEXT NOT NULL,
    state          TEXT NOT NULL,
    labels         TEXT NOT NULL DEFAULT '{}',
    summary        TEXT NOT NULL DEFAULT '',
    value          DOUBLE PRECISION NOT NULL DEFAULT 0,
    started_at     BIGINT NOT NULL,
    last_seen_at   BIGINT NOT NULL,
    resolved_at    BIGINT,
    acked_by       TEXT NOT NULL DEFAULT '',
    acked_at       BIGINT,
    -- Routing: pending until routed_at is set; route_at is when to look again
    -- (end of the group window, of a silence, of a maintenance hold).
    pending        TEXT NOT NULL DEFAULT 'group',
    route_at       BIGINT NOT NULL,
    routed_at      BIGINT,
    silence_id     BIGINT,
    announced_at   BIGINT
);
CREATE INDEX alerts_fingerprint ON alerts (fingerprint, state);
CREATE INDEX alerts_route ON alerts (state, routed_at, route_at);

-- Every notification, written before it is sent. op: post | update | reply.
-- parent_id is the outbox row of the message an update edits or a reply
-- threads under.
CREATE TABLE outbox (
    id            {{ID}},
    channel       TEXT NOT NULL,
    op            TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    parent_id     BIGINT,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    next_at       BIGINT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    failures      INTEGER NOT NULL DEFAULT 0,
    tried_at      BIGINT,
    last_error    TEXT NOT NULL DEFAULT '',
    delivered_at  BIGINT,
    parked_at     BIGINT
);
CREATE INDEX outbox_pending ON outbox (delivered_at, parked_at, next_at);
CREATE INDEX outbox_parent ON outbox (parent_id);

-- Where a posted message landed, so it can be updated or threaded later
-- (kept when delivered outbox rows are pruned).
CREATE TABLE message_refs (
    id          {{ID}},
    outbox_id   BIGINT NOT NULL UNIQUE,
    owner       TEXT NOT NULL DEFAULT '',
    address     TEXT NOT NULL,
    platform    TEXT NOT NULL,
    channel     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    thread_id   TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX message_refs_owner ON message_refs (owner);

-- Which alerts a posted message carries (a grouped message carries many).
-- role: first (the message resolutions thread under) | repeat.
CREATE TABLE alert_messages (
    alert_id   BIGINT NOT NULL,
    outbox_id  BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    role       TEXT NOT NULL,
    PRIMARY KEY (alert_id, outbox_id)
);
CREATE INDEX alert_messages_outbox ON alert_messages (outbox_id);

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
    removed_at  BIGINT,
    removed_by  TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE silences;
DROP TABLE subscriptions;
DROP TABLE alert_messages;
DROP TABLE message_refs;
DROP TABLE outbox;
DROP TABLE alerts;
