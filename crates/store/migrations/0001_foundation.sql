-- One schema for SQLite and PostgreSQL: ids are TEXT, money BIGINT cents, times BIGINT
-- milliseconds since the Unix epoch, flags BIGINT 0 or 1. Descriptive attributes live in `data`, the object as the
-- API shows it; anything queried, constrained or changed atomically is a column of its own.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    secret_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_by_organization ON users (organization_id, created_at);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX locations_by_organization ON locations (organization_id, created_at);

CREATE TABLE rates (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX rates_by_organization ON rates (organization_id, created_at);

CREATE TABLE wallets (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id),
    currency TEXT NOT NULL,
    balance BIGINT NOT NULL,
    available_balance BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (available_balance >= 0 AND available_balance <= balance)
);

CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    reference TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_entries_by_wallet ON ledger_entries (wallet_id, created_at);

CREATE TABLE chargestations (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    endpoint TEXT NOT NULL UNIQUE,
    protocol TEXT NOT NULL,
    location_id TEXT REFERENCES locations (id),
    connection_url TEXT NOT NULL,
    security_type TEXT NOT NULL,
    password_hash TEXT,
    registration TEXT NOT NULL,
    online BIGINT NOT NULL, -- 0 or 1: sqlx's Any driver reads no SQLite BOOLEAN
    last_connect_at BIGINT,
    last_disconnect_at BIGINT,
    last_message_at BIGINT,
    boot_info TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX chargestations_by_organization ON chargestations (organization_id, created_at);

CREATE TABLE connectors (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    chargestation_id TEXT NOT NULL REFERENCES chargestations (id),
    connector_id BIGINT NOT NULL,
    rate_id TEXT REFERENCES rates (id),
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (chargestation_id, connector_id)
);
CREATE INDEX connectors_by_organization ON connectors (organization_id, created_at);

-- The outbox: every state change writes its events here in the same transaction.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    object TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    chargestation_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_by_organization ON events (organization_id, created_at);

-- Stored first responses of POST requests that carried an Idempotency-Key. `status_code` is
-- NULL while the first request is still being handled.
CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status_code BIGINT,
    response TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idempotency_key)
);
