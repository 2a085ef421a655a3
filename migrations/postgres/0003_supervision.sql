-- Supervision: the change feed's commit-safe cursor, the search index the
-- projector keeps next to the views, the deadline watch's expectations and
-- the supervisors' audit trail.

-- The transaction that inserted each event. A row whose transaction_id lies
-- below pg_snapshot_xmin(pg_current_snapshot()) belongs to a finished
-- transaction, so no row can still appear before it in (transaction_id,
-- position) order: WatchEvents follows that order and never skips a late
-- commit (KAFKA.md "The outbox without gaps").
ALTER TABLE events ADD COLUMN transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_transaction ON events (transaction_id, position);

-- One row per project, written by the projector in the same transaction as
-- its full_* rows: the columns SearchProjects filters on.
CREATE TABLE project_search (
    project_code           TEXT        PRIMARY KEY,
    -- Store position of the project's first event: the search order, newest
    -- first. It never changes, so a cursor over it neither skips nor repeats
    -- while events arrive.
    first_position         BIGINT      NOT NULL,
    region_code            TEXT        NOT NULL,
    project_type           TEXT        NOT NULL,
    stage                  TEXT        NOT NULL,
    last_event_at          TIMESTAMPTZ NOT NULL,
    first_occurred_at      TIMESTAMPTZ NOT NULL,
    last_occurred_at       TIMESTAMPTZ NOT NULL,
    owner_code             TEXT        NOT NULL,
    owner_name             TEXT        NOT NULL,
    -- '|code|name|' per winner, concatenated.
    winners                TEXT        NOT NULL,
    -- '|source|' per submitting trading center, concatenated.
    sources                TEXT        NOT NULL,
    investment_fen         BIGINT      NOT NULL,
    contract_price_fen     BIGINT,
    final_cost_fen         BIGINT,
    -- Lowercased project code, tender and lot codes and names, party names.
    search_text            TEXT        NOT NULL
);
-- The order, and one (filter, order) index per selective filter, so a
-- page is read in order and the scan stops at its end. They carry the
-- columns most filters test, so the scan need not visit the table (an
-- index-only scan, once vacuum has marked the pages all-visible).
CREATE INDEX project_search_order ON project_search (first_position DESC, project_code DESC)
    INCLUDE (region_code, stage, project_type, investment_fen);
CREATE INDEX project_search_region ON project_search (region_code, first_position DESC, project_code DESC)
    INCLUDE (stage, project_type, investment_fen);
CREATE INDEX project_search_stage ON project_search (stage, first_position DESC, project_code DESC)
    INCLUDE (region_code, project_type, investment_fen);
-- A narrow amount range is read from here and sorted: few rows, no table.
CREATE INDEX project_search_investment ON project_search (investment_fen)
    INCLUDE (first_position, project_code, region_code, stage, project_type);
CREATE INDEX project_search_owner ON project_search (owner_code);

-- Character bigrams (and single characters of one-character words) of the
-- project's names, for Chinese free text without word boundaries.
CREATE TABLE project_terms (
    term          TEXT NOT NULL,
    project_code  TEXT NOT NULL,
    PRIMARY KEY (term, project_code)
);
CREATE INDEX project_terms_project ON project_terms (project_code);

-- Disclosures a project still owes, with their deadline: a GK-MISSING-* flag
-- is raised once `due_at` has passed (evaluated against the clock at query
-- time, so it appears without any new submission).
CREATE TABLE project_deadlines (
    project_code  TEXT        NOT NULL,
    rule          TEXT        NOT NULL,
    -- tender_code/lot_code the expectation concerns.
    subject       TEXT        NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    -- The trading center that owes the disclosure.
    source        TEXT        NOT NULL,
    -- The gongkai.v1.ComplianceFlag that is raised once due.
    flag          BYTEA       NOT NULL,
    PRIMARY KEY (project_code, rule, subject)
);
CREATE INDEX project_deadlines_due ON project_deadlines (due_at);
-- The has_flag probe: is one of the project's expectations due?
CREATE INDEX project_deadlines_project ON project_deadlines (project_code, due_at);

-- Every supervisor call.
CREATE TABLE audit_log (
    audit_id        TEXT        PRIMARY KEY,
    principal       TEXT        NOT NULL,
    role            TEXT        NOT NULL,
    called_at       TIMESTAMPTZ NOT NULL,
    method          TEXT        NOT NULL,
    arguments_json  TEXT        NOT NULL,
    project_code    TEXT        NOT NULL,
    status_code     TEXT        NOT NULL,
    result_count    BIGINT      NOT NULL,
    trace_id        TEXT        NOT NULL
);
CREATE INDEX audit_log_called ON audit_log (called_at DESC, audit_id DESC);

CREATE INDEX compliance_flags_raised ON compliance_flags (raised_at DESC, id DESC);
CREATE INDEX full_timeline_occurred ON full_timeline (project_code, occurred_at);
