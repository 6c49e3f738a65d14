-- +goose Up
-- An alert acknowledged or resolved in a paging integration (PagerDuty's
-- own ack, told by its webhook): who, when, and the integration's event
-- id. The escalation's stop line names it, and that integration is not
-- told back what it told us. One row per alert episode: the first wins.
CREATE TABLE integration_acks (
    alert_id     BIGINT PRIMARY KEY,
    integration  TEXT NOT NULL,
    action       TEXT NOT NULL,
    by_whom      TEXT NOT NULL,
    at           BIGINT NOT NULL,
    event_id     TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE integration_acks;
