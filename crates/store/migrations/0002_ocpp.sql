-- What chargers report over OCPP, and the tokens they authorize with.

-- The status a charger reported for connector 0, the chargestation as a whole.
ALTER TABLE chargestations ADD COLUMN status TEXT;
ALTER TABLE chargestations ADD COLUMN status_at BIGINT;
-- When the stored connector status was reported, so that late reports never override newer ones.
ALTER TABLE connectors ADD COLUMN status_at BIGINT;

CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    physical_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (organization_id, physical_id)
);
CREATE INDEX tokens_by_organization ON tokens (organization_id, created_at);

CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    transaction_id BIGINT NOT NULL,
    connector_id BIGINT NOT NULL,
    id_tag TEXT NOT NULL,
    token_id TEXT,
    session_id TEXT,
    reservation_id BIGINT,
    meter_start BIGINT NOT NULL,
    meter_stop BIGINT,
    started_at BIGINT NOT NULL,
    stopped_at BIGINT,
    stop_reason TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (chargestation_id, transaction_id),
    -- A StartTransaction the charger retries is the same transaction.
    UNIQUE (chargestation_id, connector_id, id_tag, started_at)
);
CREATE INDEX transactions_by_organization ON transactions (organization_id, created_at);

-- Meter readings as reported, energy normalized to Wh and power to W.
CREATE TABLE meter_values (
    id TEXT PRIMARY KEY,
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
CREATE INDEX meter_values_by_transaction ON meter_values (chargestation_id, transaction_id, sampled_at);
