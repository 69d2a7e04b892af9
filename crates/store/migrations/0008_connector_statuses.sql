-- Every status a charger reported for a connector, at the charger's time, also when it arrives
-- late: pricing tells charging from parking (SuspendedEV, Finishing) and from neither
-- (SuspendedEVSE) by them.
CREATE TABLE connector_statuses (
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    connector_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    reported_at BIGINT NOT NULL
);
CREATE INDEX connector_statuses_by_connector ON connector_statuses (chargestation_id, connector_id, reported_at);
