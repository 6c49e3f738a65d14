-- +goose Up
-- The language a channel chose with /ops locale; a channel without a row
-- follows the configured locale.
CREATE TABLE channel_locales (
    channel    TEXT PRIMARY KEY,
    locale     TEXT NOT NULL,
    set_by     TEXT NOT NULL DEFAULT '',
    set_at     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE channel_locales;
