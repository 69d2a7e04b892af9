-- Charging sessions: what the API shows of a transaction, with its payment later on.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    status TEXT NOT NULL,
    user_id TEXT,
    token_id TEXT,
    transaction_id BIGINT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_organization ON sessions (organization_id, created_at);
