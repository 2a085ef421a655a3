-- A rebuild from this store's own log keeps each event in projector_events
-- by its position only (envelope NULL): the fold reads the envelope from
-- `events` at that position. SQLite cannot drop a NOT NULL: the table is
-- copied into one without it.
CREATE TABLE projector_events_kept (
    project_code  TEXT    NOT NULL,
    project_seq   INTEGER NOT NULL,
    position      INTEGER NOT NULL,
    envelope      BLOB,
    PRIMARY KEY (project_code, project_seq)
);
INSERT INTO projector_events_kept (project_code, project_seq, position, envelope)
    SELECT project_code, project_seq, position, envelope FROM projector_events;
DROP TABLE projector_events;
ALTER TABLE projector_events_kept RENAME TO projector_events;
-- Nothing reads the full timeline by recording time.
DROP INDEX full_timeline_recorded;
