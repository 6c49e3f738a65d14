-- +goose Up
CREATE TABLE samples (
    id      BIGSERIAL PRIMARY KEY,
    metric  TEXT NOT NULL,
    target  TEXT NOT NULL DEFAULT '',
    at      BIGINT NOT NULL,
    value   DOUBLE PRECISION NOT NULL
);
CREATE INDEX samples_metric_at ON samples (metric, target, at);

-- +goose Down
DROP TABLE samples;
