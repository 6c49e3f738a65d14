-- +goose Up
CREATE TABLE incidents (
    id          BIGSERIAL PRIMARY KEY,
    title       TEXT NOT NULL,
    severity    TEXT NOT NULL,
    stage       TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    lead        TEXT NOT NULL DEFAULT '',
    opened_by   TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    stage_at    BIGINT NOT NULL,
    closed_at   BIGINT,
    postmortem  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incidents_open ON incidents (closed_at);

CREATE TABLE incident_events (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident_id, at);

-- +goose Down
DROP TABLE incident_events;
DROP TABLE incidents;
