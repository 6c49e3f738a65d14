-- +goose Up
-- One row per backup set of a target. status: running | complete | failed.
-- A set is verified when verified_at is set and verify_error is empty.
CREATE TABLE backups (
    id           {{ID}},
    target       TEXT NOT NULL,
    stamp        TEXT NOT NULL,
    dir          TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'running',
    error        TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    size_bytes   BIGINT NOT NULL DEFAULT 0,
    manifest     TEXT NOT NULL DEFAULT '',
    verified_at  BIGINT,
    verify_error TEXT NOT NULL DEFAULT '',
    offsite      TEXT NOT NULL DEFAULT '',
    offsite_ok   INTEGER,
    deleted_at   BIGINT
);
CREATE INDEX backups_target ON backups (target, created_at);

-- +goose Down
DROP TABLE backups;
