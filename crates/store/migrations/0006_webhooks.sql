-- Webhooks: endpoints, one delivery per event and endpoint, one attempt record per try.

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    data TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    -- `whsec_...`: kept usable for signing, never part of `data`, never answered again.
    secret TEXT NOT NULL,
    -- After a rotation, the old secret signs too until `previous_secret_until`.
    previous_secret TEXT,
    previous_secret_until BIGINT,
    last_success_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_by_organization ON webhook_endpoints (organization_id, created_at);

-- Events not yet fanned out to the endpoints that want them.
ALTER TABLE events ADD COLUMN fanned_out BIGINT NOT NULL DEFAULT 0;
UPDATE events SET fanned_out = 1;
CREATE INDEX events_to_fan_out ON events (created_at, id) WHERE fanned_out = 0;

-- One event to one endpoint. `status` is pending until a 2xx answer (succeeded) or the end
-- of the retry schedule or a 410 (failed). A node that takes a delivery holds it until
-- `lease_until`; if it dies, another takes it after that. Deliveries of one chargestation's
-- events to one endpoint go in order of (event_at, event_id): a later one waits while an
-- earlier one is pending.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event_id TEXT NOT NULL REFERENCES events (id),
    event_at BIGINT NOT NULL,
    chargestation_id TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,
    first_attempt_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- An endpoint's pending deliveries in order, so that a claim reads only as far as it takes.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, event_at, event_id) WHERE status = 'pending';
-- The head of each chargestation's queue: its earliest pending delivery.
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, chargestation_id, event_at, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, created_at);
