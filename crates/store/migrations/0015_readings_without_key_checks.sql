-- The reading tables lose their foreign key to chargestations. Every reading is written for the
-- chargestation a charger logged in as, and chargestations are never deleted, so the key could
-- not fail; checking it was the most expensive part of a batch of readings on PostgreSQL (a key
-- lookup through its trigger machinery for each row: 15% of the writer's backend). The tables
-- are made again (the one way to drop a constraint that both databases share).
CREATE TABLE readings_new (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    chargestation_id TEXT NOT NULL,
    connector_id BIGINT NOT NULL,
    transaction_id BIGINT,
    sampled_at BIGINT NOT NULL,
    -- The energy register (Energy.Active.Import.Register of no phase) in Wh, if the reading has one.
    register_wh TEXT,
    -- [{"measurand", "phase"?, "context"?, "unit", "value"}], units normalized (Wh, W...).
    samples TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO readings_new (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at)
SELECT id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at FROM readings;
DROP TABLE readings;
ALTER TABLE readings_new RENAME TO readings;
CREATE INDEX readings_by_transaction ON readings (chargestation_id, transaction_id, sampled_at);
CREATE INDEX readings_by_age ON readings (created_at);

-- Where the readings' writer commits on SQLite, moved into readings in bulk (see 0012).
CREATE TABLE recent_readings_new (
    id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    chargestation_id TEXT NOT NULL,
    connector_id BIGINT NOT NULL,
    transaction_id BIGINT,
    sampled_at BIGINT NOT NULL,
    register_wh TEXT,
    samples TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO recent_readings_new (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at)
SELECT id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at FROM recent_readings;
DROP TABLE recent_readings;
ALTER TABLE recent_readings_new RENAME TO recent_readings;
