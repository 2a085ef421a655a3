-- Promptness of disclosure, in public: see the PostgreSQL migration of the
-- same number for what each table holds.
CREATE TABLE public_disclosures (
    project_code  TEXT    NOT NULL,
    project_seq   INTEGER NOT NULL,
    region_code   TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    month         TEXT    NOT NULL,
    fact_type     TEXT    NOT NULL,
    delay_days    INTEGER NOT NULL,
    within_window INTEGER NOT NULL CHECK (within_window IN (0, 1)),
    PRIMARY KEY (project_code, project_seq)
);

CREATE TABLE public_promptness (
    scope         TEXT    NOT NULL,
    month         TEXT    NOT NULL,
    fact_type     TEXT    NOT NULL,
    delay_days    INTEGER NOT NULL,
    disclosures   INTEGER NOT NULL,
    within_window INTEGER NOT NULL,
    PRIMARY KEY (scope, month, fact_type, delay_days)
);

CREATE TABLE public_promptness_scopes (
    scope       TEXT    PRIMARY KEY,
    disclosures INTEGER NOT NULL
);

CREATE TABLE public_expected (
    project_code TEXT NOT NULL,
    rule         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    region_code  TEXT NOT NULL,
    source       TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    PRIMARY KEY (project_code, rule, subject)
);
CREATE INDEX public_expected_region ON public_expected (region_code, due_at);
CREATE INDEX public_expected_source ON public_expected (source, due_at);
