-- +goose Up
-- One row per automatic action on a target (restart, cache flush, cleanup):
-- which attempt of the budget it was, the alert that caused it, and how it
-- ended. The partial unique index makes a second unfinished action of one
-- kind on one target impossible, whatever the callers believe.
CREATE TABLE remediation_attempts (
    id          {{ID}},
    target      TEXT NOT NULL,
    action      TEXT NOT NULL,
    fingerprint TEXT NOT NULL DEFAULT '',
    attempt     INTEGER NOT NULL,
    budget      INTEGER NOT NULL,
    state       TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL DEFAULT '',
    job_id      BIGINT,
    queued_at   BIGINT NOT NULL,
    started_at  BIGINT,
    finished_at BIGINT
);
CREATE INDEX remediation_attempts_by_target ON remediation_attempts (target, action, queued_at);
CREATE UNIQUE INDEX remediation_attempts_one_open ON remediation_attempts (target, action) WHERE state <> 'done';

-- The current budget round of each target and action: attempts since
-- started_at count against the budget; a firing observation reset_after or
-- more after the last one starts a new round.
CREATE TABLE remediation_rounds (
    target         TEXT NOT NULL,
    action         TEXT NOT NULL,
    started_at     BIGINT NOT NULL,
    last_firing_at BIGINT NOT NULL,
    spent_at       BIGINT,
    skipped_at     BIGINT,
    PRIMARY KEY (target, action)
);

-- +goose Down
DROP TABLE remediation_rounds;
DROP TABLE remediation_attempts;
