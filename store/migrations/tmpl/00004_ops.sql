-- +goose Up
CREATE TABLE backups (
    id           {{ID}},
    target       TEXT NOT NULL,
    dir          TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    size_bytes   BIGINT NOT NULL DEFAULT 0,
    manifest     TEXT NOT NULL DEFAULT '',
    verified_at  BIGINT,
    verify_error TEXT NOT NULL DEFAULT '',
    offsite      TEXT NOT NULL DEFAULT '',
    deleted_at   BIGINT
);
CREATE INDEX backups_target ON backups (target, created_at);

-- +goose Down
DROP TABLE backups;
