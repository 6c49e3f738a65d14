-- +goose Up
-- A delivery lane claims the outbox row it is about to send, so two
-- processes that both believe they lead never send one row at once. The
-- claim is renewed while the send lasts and lapses at claimed_until, so a
-- row claimed by a process that died is taken up again.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claimed_until BIGINT;

-- +goose Down
ALTER TABLE outbox DROP COLUMN claimed_until;
ALTER TABLE outbox DROP COLUMN claimed_by;
