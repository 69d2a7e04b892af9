-- Stripe wallet top-ups (SPEC section 9).

-- An organization's Stripe keys: write-only. They are never part of `data` (what the API shows
-- and events carry) and never answered; NULL until set.
ALTER TABLE organizations ADD COLUMN stripe_secret_key TEXT;
ALTER TABLE organizations ADD COLUMN stripe_webhook_secret TEXT;

-- A top-up is a Stripe PaymentIntent and the credit it earns a wallet. Its status changes only
-- through guarded UPDATEs (`... WHERE status IN (...)`), and `completed`, the one change that
-- credits the wallet, commits with the wallet's credit and its ledger entry.
CREATE TABLE top_ups (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    wallet_id TEXT NOT NULL REFERENCES wallets (id),
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    wallet_amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    -- NULL only while Stripe has not answered the request that creates it.
    payment_intent TEXT UNIQUE,
    client_secret TEXT,
    payment_method TEXT,
    failure_code TEXT,
    failure_message TEXT,
    expires_at BIGINT NOT NULL,
    -- A node expiring the top-up (it asks Stripe to cancel the PaymentIntent first) holds it
    -- until then; if that node dies, another takes it over afterwards.
    expiry_lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (amount > 0 AND wallet_amount > 0)
);
CREATE INDEX top_ups_by_organization ON top_ups (organization_id, created_at);
CREATE INDEX top_ups_by_wallet ON top_ups (wallet_id, created_at);
CREATE INDEX top_ups_to_expire ON top_ups (expires_at) WHERE status IN ('created', 'failed');
