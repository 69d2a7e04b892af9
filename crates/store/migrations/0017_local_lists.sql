-- What Joule last sent a charger's local authorization list (SendLocalList): its version, the
-- charger's answer and when, and its entries (JSON), from which the next sync's differences
-- are made.
ALTER TABLE chargestations ADD COLUMN local_list_version BIGINT;
ALTER TABLE chargestations ADD COLUMN local_list_status TEXT;
ALTER TABLE chargestations ADD COLUMN local_list_synced_at BIGINT;
ALTER TABLE chargestations ADD COLUMN local_list_entries TEXT;
