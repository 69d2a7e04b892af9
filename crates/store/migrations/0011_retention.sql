-- Retention deletes the oldest rows first, in batches: each table needs them by age.
CREATE INDEX meter_values_by_age ON meter_values (created_at);
CREATE INDEX events_by_age ON events (created_at);
CREATE INDEX webhook_attempts_by_age ON webhook_attempts (created_at);
