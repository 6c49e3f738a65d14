-- +goose Up
-- Escalation of an announced alert episode under a policy (package paging).
-- state: active (steps to take) | acked | resolved. next_step is taken at
-- next_at; the update that advances it names the step it expects, so of two
-- processes that both believe they lead only one takes a step.
CREATE TABLE escalations (
    alert_id     BIGINT PRIMARY KEY,
    fingerprint  TEXT NOT NULL,
    policy       TEXT NOT NULL,
    -- the alert's severity when the policy was chosen: a rise picks again
    severity     TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    next_step    INTEGER NOT NULL DEFAULT 0,
    next_at      BIGINT,
    started_at   BIGINT NOT NULL,
    stopped_at   BIGINT,
    stopped_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX escalations_due ON escalations (state, next_at);

-- Each step taken; the key makes taking a step twice impossible.
CREATE TABLE escalation_steps (
    alert_id  BIGINT NOT NULL,
    policy    TEXT NOT NULL,
    step      INTEGER NOT NULL,
    taken_at  BIGINT NOT NULL,
    whom      TEXT NOT NULL DEFAULT '',
    via       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (alert_id, policy, step)
);

-- Every page written to the outbox (trigger, acknowledge, resolve through
-- an integration), so its outcome is told in the alert's thread once and an
-- ack or resolve follows the integrations an alert was paged through.
CREATE TABLE pages (
    outbox_id    BIGINT PRIMARY KEY,
    alert_id     BIGINT NOT NULL,
    integration  TEXT NOT NULL,
    action       TEXT NOT NULL,
    whom         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    reported_at  BIGINT,
    -- when the integration took it (kept after the outbox row is pruned)
    delivered_at BIGINT
);
CREATE INDEX pages_alert ON pages (alert_id, integration);
CREATE INDEX pages_unreported ON pages (reported_at);

-- Someone covering a rotation for a while (/ops oncall override).
CREATE TABLE oncall_overrides (
    id          {{ID}},
    rotation    TEXT NOT NULL,
    person      TEXT NOT NULL,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX oncall_overrides_rotation ON oncall_overrides (rotation, ends_at);

-- A rotation's members as an admin set them from chat (over the config's).
CREATE TABLE oncall_members (
    rotation    TEXT PRIMARY KEY,
    members     TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Handoffs announced in the ops channel, one row per handoff instant.
CREATE TABLE oncall_handoffs (
    at         BIGINT PRIMARY KEY,
    posted_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE oncall_handoffs;
DROP TABLE oncall_members;
DROP TABLE oncall_overrides;
DROP TABLE pages;
DROP TABLE escalation_steps;
DROP TABLE escalations;
