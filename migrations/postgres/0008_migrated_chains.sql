-- Projects whose hash chain was rewritten when event hashes moved to the
-- scheme the public can check (commitment seeds; `gongkai chains migrate`):
-- the head each had before and after, so that a head published before the
-- move can still be told apart from tampering. Written in the transaction
-- that rewrites the project's events; the primary key allows one rewrite
-- per project.
CREATE TABLE migrated_chains (
    project_code  TEXT        PRIMARY KEY,
    old_head      BYTEA       NOT NULL CHECK (length(old_head) = 32),
    new_head      BYTEA       NOT NULL CHECK (length(new_head) = 32),
    event_count   BIGINT      NOT NULL CHECK (event_count > 0),
    migrated_at   TIMESTAMPTZ NOT NULL
);
