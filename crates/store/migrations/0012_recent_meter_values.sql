-- Readings of running sessions as the readings' writer commits them on SQLite
-- (`Backend::readings_table`). The table has no index to keep up, so a commit appends a few
-- pages however many chargers its readings come from, where meter_values' index by
-- transaction takes a page per charger. The writer moves them into meter_values, sorted,
-- every few thousand rows: each charger's index page is then written once for many readings.
-- Readers read both tables.
CREATE TABLE recent_meter_values (
    id TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    connector_id BIGINT NOT NULL,
    transaction_id BIGINT,
    sampled_at BIGINT NOT NULL,
    measurand TEXT NOT NULL,
    phase TEXT,
    context TEXT,
    unit TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
