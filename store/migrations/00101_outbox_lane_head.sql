-- +goose Up
-- The head of one delivery lane (its oldest pending row) is read after
-- every send: an index over the pending rows only, by channel then id,
-- makes that one index probe however many rows were delivered before.
CREATE INDEX outbox_lane_head ON outbox (channel, id) WHERE delivered_at IS NULL AND parked_at IS NULL;

-- +goose Down
DROP INDEX outbox_lane_head;
