-- The public change feed (GET /api/v1/changes): one row per public timeline
-- entry that became public or changed, appended by the projector inside the
-- transaction that rewrites the project's public rows. SQLite serializes
-- writers (BEGIN IMMEDIATE) and AUTOINCREMENT ids only grow, so ids become
-- visible in order and reading by id never skips a late commit.
CREATE TABLE public_changes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL DEFAULT 0,
    project_code   TEXT    NOT NULL,
    project_seq    INTEGER NOT NULL,
    event_id       TEXT    NOT NULL,
    change         TEXT    NOT NULL CHECK (change IN ('published', 'updated')),
    fact_type      TEXT    NOT NULL,
    recorded_at    TEXT    NOT NULL,
    entry          BLOB    NOT NULL
);

CREATE INDEX public_projects_listing ON public_projects (last_event_at DESC, project_code);

-- The projector compares each rendering with the latest feed row per entry.
CREATE INDEX public_changes_project ON public_changes (project_code, project_seq);
