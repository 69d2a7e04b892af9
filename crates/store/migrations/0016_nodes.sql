-- The `joule serve` processes sharing this database (SPEC 11). Each renews its lease while it
-- runs; one whose lease ran out is dead, and any other node marks its chargers offline.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    lease_until BIGINT NOT NULL
);

-- The node a charger is online through (`domain::presence::Standing::holder`).
ALTER TABLE chargestations ADD COLUMN node_id TEXT;
CREATE INDEX chargestations_by_node ON chargestations (node_id);

-- A call for a charger held by another node: written here and announced to that node, which
-- sends it and writes the charger's answer back for the caller.
CREATE TABLE routed_calls (
    id TEXT PRIMARY KEY,
    from_node TEXT NOT NULL,
    to_node TEXT NOT NULL,
    chargestation_id TEXT NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    taken BIGINT NOT NULL,
    answer TEXT
);

-- Sessions no node's connection looks after (never started, or their charger offline) are
-- looked after by whichever node claims them first, until this time.
ALTER TABLE sessions ADD COLUMN watched_until BIGINT;
