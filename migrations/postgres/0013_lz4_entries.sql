-- Rendered entries, summaries and envelopes compressed with LZ4 instead of
-- PostgreSQL's default pglz, where the server has it: the rows of a few
-- kilobytes that go over the TOAST threshold are compressed about twice as
-- fast (a rebuild writes every one of them again), to about the same size.
-- Rows written before keep their compression; both read the same. A server
-- built without LZ4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE public_timeline ALTER COLUMN entry SET COMPRESSION lz4;
    ALTER TABLE full_timeline ALTER COLUMN entry SET COMPRESSION lz4;
    ALTER TABLE public_changes ALTER COLUMN entry SET COMPRESSION lz4;
    ALTER TABLE projector_events ALTER COLUMN envelope SET COMPRESSION lz4;
    ALTER TABLE public_projects ALTER COLUMN summary SET COMPRESSION lz4;
    ALTER TABLE full_projects ALTER COLUMN summary SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'LZ4 is not available: entries stay compressed with pglz';
END
$$;
