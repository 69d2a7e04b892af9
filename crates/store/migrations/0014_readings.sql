-- Meter readings, one row per reading (the sampled values a charger stamped with one time)
-- instead of one per sampled value: the database's work per reading no longer grows with the
-- number of measurands and phases a charger reports. Pricing reads only the energy register,
-- which has a column of its own; the rest are kept as reported, as JSON.
--
-- One foreign key, to the chargestation (its organization is the chargestation's): on
-- PostgreSQL the key checks of the two were a fifth of the time of a batch of readings.
CREATE TABLE readings (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    connector_id BIGINT NOT NULL,
    transaction_id BIGINT,
    sampled_at BIGINT NOT NULL,
    -- The energy register (Energy.Active.Import.Register of no phase) in Wh, if the reading has one.
    register_wh TEXT,
    -- [{"measurand", "phase"?, "context"?, "unit", "value"}], units normalized (Wh, W...).
    samples TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX readings_by_transaction ON readings (chargestation_id, transaction_id, sampled_at);
CREATE INDEX readings_by_age ON readings (created_at);

-- Where the readings' writer commits on SQLite, moved into readings in bulk (see 0012).
CREATE TABLE recent_readings (
    id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    connector_id BIGINT NOT NULL,
    transaction_id BIGINT,
    sampled_at BIGINT NOT NULL,
    register_wh TEXT,
    samples TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The stored sampled values become readings. Their texts are OCPP enumeration values and
-- normalized decimals, so they need no escaping inside JSON strings.
INSERT INTO readings (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at)
SELECT MIN(id), organization_id, chargestation_id, connector_id, transaction_id, sampled_at,
       MIN(CASE WHEN measurand = 'Energy.Active.Import.Register' AND phase IS NULL THEN value END),
       '[' || string_agg('{"measurand":"' || measurand || '"' || COALESCE(',"phase":"' || phase || '"', '')
                         || COALESCE(',"context":"' || context || '"', '') || ',"unit":"' || unit || '","value":"' || value || '"}', ',' ORDER BY id) || ']',
       MIN(created_at)
FROM (SELECT id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, measurand, phase, context, unit, value, created_at FROM meter_values
      UNION ALL
      SELECT id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, measurand, phase, context, unit, value, created_at FROM recent_meter_values) AS sampled
GROUP BY organization_id, chargestation_id, connector_id, transaction_id, sampled_at;

DROP TABLE recent_meter_values;
DROP TABLE meter_values;
