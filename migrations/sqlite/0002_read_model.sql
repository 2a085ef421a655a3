-- The read model the projector builds from the event log. Two sides:
-- public_* hold only what the disclosure policy lets the public see (the site
-- reads nothing else); full_* hold everything, for supervisors. Rows are
-- protobuf messages (gongkai.v1.TimelineEntry, gongkai.v1.ProjectSummary)
-- plus the columns queries filter on. Same logical schema as PostgreSQL.

CREATE TABLE public_timeline (
    project_code  TEXT    NOT NULL,
    project_seq   INTEGER NOT NULL,
    event_id      TEXT    NOT NULL,
    fact_type     TEXT    NOT NULL,
    occurred_at   TEXT    NOT NULL,
    recorded_at   TEXT    NOT NULL,
    entry         BLOB    NOT NULL,
    PRIMARY KEY (project_code, project_seq)
);
CREATE INDEX public_timeline_recorded ON public_timeline (recorded_at);

CREATE TABLE public_projects (
    project_code  TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    region_code   TEXT    NOT NULL,
    project_type  TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    head_seq      INTEGER NOT NULL,
    last_event_at TEXT    NOT NULL,
    summary       BLOB    NOT NULL
);
CREATE INDEX public_projects_region ON public_projects (region_code);
CREATE INDEX public_projects_stage ON public_projects (stage, last_event_at);

CREATE TABLE full_timeline (
    project_code  TEXT    NOT NULL,
    project_seq   INTEGER NOT NULL,
    event_id      TEXT    NOT NULL,
    fact_type     TEXT    NOT NULL,
    occurred_at   TEXT    NOT NULL,
    recorded_at   TEXT    NOT NULL,
    entry         BLOB    NOT NULL,
    PRIMARY KEY (project_code, project_seq)
);
CREATE INDEX full_timeline_recorded ON full_timeline (recorded_at);

CREATE TABLE full_projects (
    project_code  TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    region_code   TEXT    NOT NULL,
    project_type  TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    head_seq      INTEGER NOT NULL,
    last_event_at TEXT    NOT NULL,
    summary       BLOB    NOT NULL
);
CREATE INDEX full_projects_region ON full_projects (region_code);
CREATE INDEX full_projects_stage ON full_projects (stage, last_event_at);

-- The projector's own copy of each project's events, as they arrived from the
-- log in any order, and how far each project's views are built (the longest
-- gapless prefix). Writes are idempotent by (project_code, project_seq).
CREATE TABLE projector_events (
    project_code  TEXT    NOT NULL,
    project_seq   INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    envelope      BLOB    NOT NULL,
    PRIMARY KEY (project_code, project_seq)
);
CREATE TABLE projector_heads (
    project_code   TEXT    PRIMARY KEY,
    projected_seq  INTEGER NOT NULL,
    -- The highest store position folded into the views, for lag.
    position       INTEGER NOT NULL
);
