-- The event store: every accepted fact, immutable, in commit order.
CREATE TABLE events (
    -- Global position, assigned at insert; the outbox relay and the change
    -- feed read it under the rules in the store crate's docs.
    position        BIGSERIAL PRIMARY KEY,
    event_id        UUID        NOT NULL,
    project_code    TEXT        NOT NULL,
    -- Gapless per project, starting at 1.
    project_seq     BIGINT      NOT NULL CHECK (project_seq > 0),
    event_type      TEXT        NOT NULL,
    domain          TEXT        NOT NULL CHECK (domain IN ('projects', 'tenders', 'review', 'awards', 'contracts')),
    -- The submitting trading center and its idempotency key.
    source          TEXT        NOT NULL,
    request_id      TEXT        NOT NULL,
    -- SHA-256 of the submitted request, to tell a retry from a reused key.
    request_digest  BYTEA       NOT NULL CHECK (length(request_digest) = 32),
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    -- SHA-256 chain per project: hash = SHA-256(prev_hash || canonical envelope);
    -- prev_hash is empty for project_seq 1.
    prev_hash       BYTEA       NOT NULL CHECK (length(prev_hash) IN (0, 32)),
    hash            BYTEA       NOT NULL CHECK (length(hash) = 32),
    -- The protobuf gongkai.v1.EventEnvelope as recorded.
    envelope        BYTEA       NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_project_seq_key UNIQUE (project_code, project_seq),
    CONSTRAINT events_request_key UNIQUE (source, request_id)
);

-- Accepted facts are never edited or removed: a correction is a new event.
CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % refused', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_immutable();

-- One row per project stream: the head used for optimistic concurrency and
-- for chaining the next event.
CREATE TABLE streams (
    project_code  TEXT   PRIMARY KEY,
    region_code   TEXT   NOT NULL CHECK (region_code ~ '^[0-9]{6}$'),
    last_seq      BIGINT NOT NULL CHECK (last_seq > 0),
    head_hash     BYTEA  NOT NULL CHECK (length(head_hash) = 32)
);

-- Compliance flags raised by soft rules, stored with the event that raised them.
CREATE TABLE compliance_flags (
    id            BIGSERIAL   PRIMARY KEY,
    event_id      UUID        NOT NULL REFERENCES events (event_id),
    project_code  TEXT        NOT NULL,
    rule          TEXT        NOT NULL,
    -- The gongkai.v1.ComplianceFlag as raised (event ids, figures, explanation).
    flag          BYTEA       NOT NULL,
    raised_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX compliance_flags_project ON compliance_flags (project_code);
CREATE INDEX compliance_flags_rule ON compliance_flags (rule, raised_at);

-- Transactional outbox: written in the same transaction as the event,
-- published to Kafka by the relay after commit.
CREATE TABLE outbox (
    position      BIGINT      PRIMARY KEY REFERENCES events (position),
    topic         TEXT        NOT NULL,
    published_at  TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished ON outbox (position) WHERE published_at IS NULL;
