-- A running session's cost, metrics and time of its last reading, one small row per session,
-- set by the readings' writer at every reading instead of rewriting the session's whole
-- document (`store::progress`). Reads of a session show it over the document while it is no
-- older; a later change of the document (a pause, the end) already holds it.
CREATE TABLE session_progress (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id),
    cost TEXT NOT NULL,
    metrics TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
