-- Promptness of disclosure, in public (the site's /regions/{code}/promptness
-- and /centers/{source}/promptness): counts the projector keeps in the
-- transaction that writes the public rows, so a page reads a few hundred
-- rows whatever the size of the record. Every figure is computed from public
-- timeline entries (`gongkai_domain::promptness`) and the missing-disclosure
-- clocks, never from supervisors' flags.

-- What each public timeline entry adds to the counts: one row per entry that
-- counts as a disclosure (corrections do not), under its project's region.
-- The fold compares a project's new rows with these and adds the difference
-- to public_promptness; the site does not read it.
CREATE TABLE public_disclosures (
    project_code  TEXT    NOT NULL,
    project_seq   BIGINT  NOT NULL,
    region_code   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    -- Month made public, Beijing time: 2024-03.
    month         TEXT    NOT NULL,
    fact_type     TEXT    NOT NULL,
    -- Delay bucket: a lower bound of gongkai_domain::promptness::DELAY_BUCKETS.
    delay_days    BIGINT  NOT NULL,
    within_window BIGINT  NOT NULL CHECK (within_window IN (0, 1)),
    PRIMARY KEY (project_code, project_seq)
);

-- The counts, per scope (`region:<prefix>` for each of a region's province,
-- prefecture and county prefixes; `source:<trading center>`), month made
-- public, fact type and delay bucket.
CREATE TABLE public_promptness (
    scope         TEXT   NOT NULL,
    month         TEXT   NOT NULL,
    fact_type     TEXT   NOT NULL,
    delay_days    BIGINT NOT NULL,
    disclosures   BIGINT NOT NULL,
    within_window BIGINT NOT NULL,
    PRIMARY KEY (scope, month, fact_type, delay_days)
);

-- Disclosures per scope, for the list of scopes.
CREATE TABLE public_promptness_scopes (
    scope       TEXT   PRIMARY KEY,
    disclosures BIGINT NOT NULL
);

-- Disclosures the statutory clocks expect and that have not come (the
-- missing-disclosure rules of the projector's deadline watch, whose inputs
-- are public facts): each is missing from `due_at` on.
CREATE TABLE public_expected (
    project_code TEXT        NOT NULL,
    rule         TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    region_code  TEXT        NOT NULL,
    source       TEXT        NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_code, rule, subject)
);
CREATE INDEX public_expected_region ON public_expected (region_code, due_at);
CREATE INDEX public_expected_source ON public_expected (source, due_at);

-- The site's role reads the counts (see 0004_public_feed.sql); operators who
-- create the role themselves run the same GRANT.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongkai_site') THEN
        EXECUTE 'GRANT SELECT ON public_promptness, public_promptness_scopes, public_expected TO gongkai_site';
    END IF;
END
$$;
