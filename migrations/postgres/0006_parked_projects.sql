-- Projects the projector could not render (a bug, or a value an older
-- version accepted): one row each, with the event and the reason, while
-- every other project goes on. Their last good views stay; the projects
-- tables say since when they wait (`parked_since`), so the site can tell
-- citizens that the timeline is being updated. A project leaves this table
-- when a later rendering succeeds (at start-up, on `gongkai projector retry`,
-- or with its next event).
CREATE TABLE projector_parked (
    project_code  TEXT        PRIMARY KEY,
    event_id      TEXT        NOT NULL,
    project_seq   BIGINT      NOT NULL,
    reason        TEXT        NOT NULL,
    parked_at     TIMESTAMPTZ NOT NULL
);
ALTER TABLE public_projects ADD COLUMN parked_since TIMESTAMPTZ;
ALTER TABLE full_projects ADD COLUMN parked_since TIMESTAMPTZ;

-- Projects whose stream the relay set aside because Kafka refused one of
-- their events for good (e.g. larger than the topic accepts): their outbox
-- rows are `held`, so per-project order keeps, and every other project's
-- rows keep flowing. `gongkai relay retry CODE` releases them once the cause
-- is fixed.
CREATE TABLE relay_parked (
    project_code  TEXT        PRIMARY KEY,
    position      BIGINT      NOT NULL,
    reason        TEXT        NOT NULL,
    parked_at     TIMESTAMPTZ NOT NULL
);
ALTER TABLE outbox ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
