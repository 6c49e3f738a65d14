-- +goose Up
CREATE TABLE incidents (
    id            {{ID}},
    title         TEXT NOT NULL,
    severity      TEXT NOT NULL,
    stage         TEXT NOT NULL,
    target        TEXT NOT NULL DEFAULT '',
    -- The target while the incident is worked on (before post-mortem), else
    -- NULL: unique, so two alerts at once cannot open two incidents for one target.
    active_target TEXT,
    lead          TEXT NOT NULL DEFAULT '',
    opened_by     TEXT NOT NULL,
    channel       TEXT NOT NULL DEFAULT '',
    opened_at     BIGINT NOT NULL,
    stage_at      BIGINT NOT NULL,
    -- Base of the stage target times: opened_at, moved on reopen.
    clock_at      BIGINT NOT NULL,
    acked_at      BIGINT,
    recovered_at  BIGINT,
    closed_at     BIGINT,
    -- The stage overrun last reminded ("handling@<clock_at>"): one reminder each.
    reminded      TEXT NOT NULL DEFAULT '',
    postmortem    TEXT NOT NULL DEFAULT '',
    postmortem_at BIGINT,
    version       BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX incidents_active_target ON incidents (active_target);
CREATE INDEX incidents_open ON incidents (closed_at);
CREATE INDEX incidents_opened ON incidents (opened_at);

CREATE TABLE incident_events (
    id          {{ID}},
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    stage       TEXT NOT NULL DEFAULT '',
    ref         TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    text        TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, at);
CREATE INDEX incident_events_ref ON incident_events (incident_id, ref);

-- +goose Down
DROP TABLE incident_events;
DROP TABLE incidents;
