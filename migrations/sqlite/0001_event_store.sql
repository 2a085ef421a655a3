-- The event store: every accepted fact, immutable, in commit order.
-- Same logical schema as migrations/postgres; timestamps are RFC 3339 text.
CREATE TABLE events (
    -- Global position; SQLite serializes writers, so positions commit in order.
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        TEXT    NOT NULL,
    project_code    TEXT    NOT NULL,
    -- Gapless per project, starting at 1.
    project_seq     INTEGER NOT NULL CHECK (project_seq > 0),
    event_type      TEXT    NOT NULL,
    domain          TEXT    NOT NULL CHECK (domain IN ('projects', 'tenders', 'review', 'awards', 'contracts')),
    -- The submitting trading center and its idempotency key.
    source          TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    -- SHA-256 of the submitted request, to tell a retry from a reused key.
    request_digest  BLOB    NOT NULL CHECK (length(request_digest) = 32),
    occurred_at     TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    -- SHA-256 chain per project: hash = SHA-256(prev_hash || canonical envelope);
    -- prev_hash is empty for project_seq 1.
    prev_hash       BLOB    NOT NULL CHECK (length(prev_hash) IN (0, 32)),
    hash            BLOB    NOT NULL CHECK (length(hash) = 32),
    -- The protobuf gongkai.v1.EventEnvelope as recorded.
    envelope        BLOB    NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_project_seq_key UNIQUE (project_code, project_seq),
    CONSTRAINT events_request_key UNIQUE (source, request_id)
);

-- Accepted facts are never edited or removed: a correction is a new event.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: UPDATE refused');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are immutable: DELETE refused');
END;

-- One row per project stream: the head used for optimistic concurrency and
-- for chaining the next event.
CREATE TABLE streams (
    project_code  TEXT    PRIMARY KEY,
    region_code   TEXT    NOT NULL CHECK (length(region_code) = 6 AND region_code NOT GLOB '*[^0-9]*'),
    last_seq      INTEGER NOT NULL CHECK (last_seq > 0),
    head_hash     BLOB    NOT NULL CHECK (length(head_hash) = 32)
);

-- Compliance flags raised by soft rules, stored with the event that raised them.
CREATE TABLE compliance_flags (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT    NOT NULL REFERENCES events (event_id),
    project_code  TEXT    NOT NULL,
    rule          TEXT    NOT NULL,
    -- The gongkai.v1.ComplianceFlag as raised (event ids, figures, explanation).
    flag          BLOB    NOT NULL,
    raised_at     TEXT    NOT NULL
);
CREATE INDEX compliance_flags_project ON compliance_flags (project_code);
CREATE INDEX compliance_flags_rule ON compliance_flags (rule, raised_at);

-- Transactional outbox: written in the same transaction as the event,
-- published by the relay (or the embedded log) after commit.
CREATE TABLE outbox (
    position      INTEGER PRIMARY KEY REFERENCES events (position),
    topic         TEXT    NOT NULL,
    published_at  TEXT
);
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;
