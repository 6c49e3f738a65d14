-- +goose Up
CREATE TABLE job_runs (
    id          {{ID}},
    job         TEXT NOT NULL,
    due_at      BIGINT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    result      TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    holder      TEXT NOT NULL DEFAULT '',
    UNIQUE (job, due_at)
);

CREATE TABLE job_state (
    job          TEXT PRIMARY KEY,
    paused       INTEGER NOT NULL DEFAULT 0,
    last_success BIGINT
);

-- +goose Down
DROP TABLE job_state;
DROP TABLE job_runs;
