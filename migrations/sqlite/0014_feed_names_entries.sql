-- The public change feed names the entry that changed (project and seq) and
-- is read joined to public_timeline, which holds its text once; the full
-- timeline keeps, in the same `entry` column, only what the supervisors'
-- rendering adds to the public one (see the PostgreSQL migration).
DROP INDEX public_changes_project;
ALTER TABLE public_changes DROP COLUMN entry;
