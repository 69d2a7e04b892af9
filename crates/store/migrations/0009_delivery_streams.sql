-- Webhook deliveries keep their order per stream: the events of one chargestation, or else the
-- events about one object (a wallet's creation before its credits). A stream is an id: the
-- chargestation's, or the object's.
ALTER TABLE webhook_deliveries ADD COLUMN stream TEXT;
UPDATE webhook_deliveries SET stream = chargestation_id;
DROP INDEX webhook_deliveries_in_order;
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (endpoint_id, stream, event_at, event_id) WHERE status = 'pending';
