-- Operators signed in to the dashboard: the SHA-256 of the cookie's token names the
-- organization whose API key signed in, and the token its forms must carry (CSRF).
CREATE TABLE dashboard_sign_ins (
    token_sha256 TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (id),
    api_key_id TEXT NOT NULL,
    organization_name TEXT NOT NULL,
    form_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sign_ins_by_expiry ON dashboard_sign_ins (expires_at);
