-- An OCPP 2.0.1 transaction's id is the charger's, a string; Joule still numbers every
-- transaction of a chargestation (`transaction_id`), which its sessions and readings refer to.
ALTER TABLE transactions ADD COLUMN ocpp_id TEXT;
CREATE UNIQUE INDEX transactions_by_ocpp_id ON transactions (chargestation_id, ocpp_id);
