-- +goose Up
-- When each alert group (channel + route group key) was last announced, so
-- that group_interval holds across a restart or a change of leader.
CREATE TABLE route_groups (
    group_key TEXT NOT NULL PRIMARY KEY,
    sent_at   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE route_groups;
