-- Sessions started through the API: their idTag, connector, and the hold on the wallet.
ALTER TABLE sessions ADD COLUMN id_tag TEXT;
ALTER TABLE sessions ADD COLUMN connector_ref TEXT;
ALTER TABLE sessions ADD COLUMN wallet_id TEXT;
-- Cents still held on the wallet for this session; the wallet's balance less its available
-- balance is the sum of these.
ALTER TABLE sessions ADD COLUMN held_cents BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_by_id_tag ON sessions (chargestation_id, id_tag);
CREATE INDEX sessions_by_connector ON sessions (connector_ref, status);
