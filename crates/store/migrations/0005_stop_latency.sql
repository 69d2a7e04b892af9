-- Seconds a chargestation took to stop a session after Joule asked it to, as session
-- intelligence learned it; NULL until it has been stopped once.
ALTER TABLE chargestations ADD COLUMN stop_latency_s BIGINT;
