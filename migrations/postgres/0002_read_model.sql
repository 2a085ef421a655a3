-- The read model the projector builds from the event log. Two sides:
-- public_* hold only what the disclosure policy lets the public see (the site
-- reads nothing else); full_* hold everything, for supervisors. Rows are
-- protobuf messages (gongkai.v1.TimelineEntry, gongkai.v1.ProjectSummary)
-- plus the columns queries filter on.

CREATE TABLE public_timeline (
    project_code  TEXT        NOT NULL,
    project_seq   BIGINT      NOT NULL,
    event_id      TEXT        NOT NULL,
    fact_type     TEXT        NOT NULL,
    occurred_at   TIMESTAMPTZ NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    entry         BYTEA       NOT NULL,
    PRIMARY KEY (project_code, project_seq)
);
CREATE INDEX public_timeline_recorded ON public_timeline (recorded_at);

CREATE TABLE public_projects (
    project_code  TEXT        PRIMARY KEY,
    name          TEXT        NOT NULL,
    region_code   TEXT        NOT NULL,
    project_type  TEXT        NOT NULL,
    stage         TEXT        NOT NULL,
    head_seq      BIGINT      NOT NULL,
    last_event_at TIMESTAMPTZ NOT NULL,
    summary       BYTEA       NOT NULL
);
CREATE INDEX public_projects_region ON public_projects (region_code);
CREATE INDEX public_projects_stage ON public_projects (stage, last_event_at);

CREATE TABLE full_timeline (LIKE public_timeline INCLUDING ALL);
CREATE TABLE full_projects (LIKE public_projects INCLUDING ALL);

-- The projector's own copy of each project's events, as they arrived from the
-- log in any order, and how far each project's views are built (the longest
-- gapless prefix). Writes are idempotent by (project_code, project_seq).
CREATE TABLE projector_events (
    project_code  TEXT   NOT NULL,
    project_seq   BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    envelope      BYTEA  NOT NULL,
    PRIMARY KEY (project_code, project_seq)
);
CREATE TABLE projector_heads (
    project_code   TEXT   PRIMARY KEY,
    projected_seq  BIGINT NOT NULL,
    -- The highest store position folded into the views, for lag.
    position       BIGINT NOT NULL
);
