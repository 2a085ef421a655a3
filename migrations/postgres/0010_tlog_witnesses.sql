-- The witnesses the transparency log submits its checkpoints to (C2SP
-- tlog-witness): for each, by its cosignature key (`<name>+<key id>+<key>`),
-- the size of the latest tree it is known to hold, from its last
-- cosignature or from the size it answered a 409 with. The next request's
-- `old` is this size, and the consistency proof goes from it.
CREATE TABLE tlog_witnesses (
    witness     TEXT        PRIMARY KEY,
    tree_size   BIGINT      NOT NULL CHECK (tree_size >= 0),
    updated_at  TIMESTAMPTZ NOT NULL
);
