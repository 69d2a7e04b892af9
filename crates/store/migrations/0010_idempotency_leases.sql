-- A claimed Idempotency-Key is held by one request for a lease: a request whose node died
-- no longer blocks its retries once the lease ends. `claim_token` names the request holding
-- it, so that only that request can answer it (a fence against a request that outlived
-- its lease).
ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT;
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT;

-- A top-up remembers the Idempotency-Key of the request that created it, so that a retry
-- continues it (same Stripe idempotency key) instead of charging again.
ALTER TABLE top_ups ADD COLUMN idempotency_key TEXT;
ALTER TABLE top_ups ADD COLUMN request_sha256 TEXT;
CREATE INDEX top_ups_by_idempotency_key ON top_ups (organization_id, idempotency_key);
