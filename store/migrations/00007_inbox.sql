-- +goose Up
-- Observations from every producer (rules, monitors, scans, health checks,
-- jobs, the Alertmanager webhook), appended by any replica and read in
-- order by the leader's pipeline, the one writer of alert state. An
-- observation is idempotent by (source, fingerprint, observed_at, status).
CREATE TABLE alert_inbox (
    id            {{ID}},
    source        TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    observed_at   BIGINT NOT NULL,
    status        TEXT NOT NULL,
    payload       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    processed_at  BIGINT
);
CREATE UNIQUE INDEX alert_inbox_observation ON alert_inbox (source, fingerprint, observed_at, status);
CREATE INDEX alert_inbox_pending ON alert_inbox (processed_at, id);

-- Replies to an alert's thread made before its first message exists (an
-- automatic action started while the alert waits for its group window):
-- they are threaded under the first message when it is routed.
CREATE TABLE alert_replies (
    id           {{ID}},
    fingerprint  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX alert_replies_fingerprint ON alert_replies (fingerprint, id);

-- The evidence behind a summary, and what an alert looked like when it
-- resolved (a resolve tells the value that resolved it).
ALTER TABLE alerts ADD COLUMN detail TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN end_value DOUBLE PRECISION;
ALTER TABLE alerts ADD COLUMN end_summary TEXT NOT NULL DEFAULT '';

-- At most one active (pending, firing or acknowledged: every state but
-- resolved) row per problem, whatever two processes believe. Duplicates
-- left by earlier versions are resolved first.
UPDATE alerts SET state = 'resolved', resolved_at = last_seen_at
 WHERE state = 'firing'
   AND id NOT IN (SELECT keep FROM (SELECT MAX(id) AS keep FROM alerts WHERE state = 'firing' GROUP BY fingerprint) k);
CREATE UNIQUE INDEX alerts_active ON alerts (fingerprint) WHERE state = 'firing';

-- +goose Down
DROP INDEX alerts_active;
ALTER TABLE alerts DROP COLUMN end_summary;
ALTER TABLE alerts DROP COLUMN end_value;
ALTER TABLE alerts DROP COLUMN detail;
DROP TABLE alert_replies;
DROP TABLE alert_inbox;
