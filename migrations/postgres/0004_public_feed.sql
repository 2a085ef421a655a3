-- The public change feed (GET /api/v1/changes): one row per public timeline
-- entry that became public or changed, appended by the projector inside the
-- transaction that rewrites the project's public rows.
--
-- Why it never skips a late commit: every row carries the id of the
-- transaction that wrote it (`transaction_id`, from pg_current_xact_id()).
-- Readers return only rows whose transaction is older than the oldest
-- transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`),
-- i.e. rows of transactions that have all finished, in (transaction_id, id)
-- order. A transaction that commits later has a transaction id at or above
-- that horizon, so it sorts after every cursor already handed out.
CREATE TABLE public_changes (
    id             BIGSERIAL   NOT NULL,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    project_code   TEXT        NOT NULL,
    project_seq    BIGINT      NOT NULL,
    event_id       TEXT        NOT NULL,
    -- 'published' (a new entry) or 'updated' (an entry re-rendered, e.g. an
    -- embargo lifted or a correction superseded it).
    change         TEXT        NOT NULL CHECK (change IN ('published', 'updated')),
    fact_type      TEXT        NOT NULL,
    recorded_at    TIMESTAMPTZ NOT NULL,
    -- The encoded gongkai.v1.TimelineEntry as it became public.
    entry          BYTEA       NOT NULL,
    PRIMARY KEY (transaction_id, id)
);

-- Listing and filtering projects on the site.
CREATE INDEX public_projects_listing ON public_projects (last_event_at DESC, project_code);

-- The site's role: it may read the public tables and nothing else. Created
-- only when the migrating role may create roles (production runs migrations
-- as the owner; the test role has no CREATEROLE, so this is skipped there).
-- Operators who create the role themselves run the same GRANTs:
--   CREATE ROLE gongkai_site LOGIN PASSWORD '…';
--   GRANT CONNECT ON DATABASE <db> TO gongkai_site;
--   GRANT USAGE ON SCHEMA public TO gongkai_site;
--   GRANT SELECT ON public_timeline, public_projects, public_changes, _sqlx_migrations TO gongkai_site;
-- (_sqlx_migrations so the site can check the schema version at start-up.)
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongkai_site')
       AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
        CREATE ROLE gongkai_site NOLOGIN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongkai_site') THEN
        EXECUTE 'GRANT USAGE ON SCHEMA public TO gongkai_site';
        EXECUTE 'GRANT SELECT ON public_timeline, public_projects, public_changes, _sqlx_migrations TO gongkai_site';
    END IF;
END
$$;

-- The projector compares each rendering with the latest feed row per entry.
CREATE INDEX public_changes_project ON public_changes (project_code, project_seq);
