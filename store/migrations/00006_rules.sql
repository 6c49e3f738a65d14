-- +goose Up
-- Signal samples (host, service, log signals) for rules and the monitor chart;
-- bounded by age (store.retention.samples) and by a cap per series.
CREATE TABLE samples (
    id      {{ID}},
    metric  TEXT NOT NULL,
    target  TEXT NOT NULL DEFAULT '',
    at      BIGINT NOT NULL,
    value   DOUBLE PRECISION NOT NULL
);
CREATE INDEX samples_metric_at ON samples (metric, target, at);
CREATE INDEX samples_at ON samples (at);

-- +goose Down
DROP TABLE samples;
