-- A rebuild from this store's own log keeps each event in projector_events
-- by its position only (envelope NULL): the fold reads the envelope from
-- `events` at that position. Events consumed from Kafka keep their copy.
ALTER TABLE projector_events ALTER COLUMN envelope DROP NOT NULL;
-- Nothing reads the full timeline by recording time (the site's latest
-- disclosures read the public one); the index came with LIKE … INCLUDING ALL.
DROP INDEX IF EXISTS full_timeline_recorded_at_idx;
