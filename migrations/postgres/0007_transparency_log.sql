-- The transparency log: one Merkle tree (RFC 6962) over every event, in the
-- order the log appended them, with signed checkpoints (C2SP
-- tlog-checkpoint). All of it is public: the leaves are event hashes, which
-- the public timeline lets anyone recompute.

-- One leaf per event. `leaf_index` is dense from 0; the log appends in the
-- commit-safe order of the change feed, whose cursor after each leaf is
-- (`transaction_id`, `event_position`).
CREATE TABLE tlog_leaves (
    leaf_index      BIGINT  PRIMARY KEY CHECK (leaf_index >= 0),
    event_position  BIGINT  NOT NULL UNIQUE REFERENCES events (position),
    transaction_id  BIGINT  NOT NULL,
    project_code    TEXT    NOT NULL,
    project_seq     BIGINT  NOT NULL,
    -- The leaf's data: the event's 32-byte chain hash.
    event_hash      BYTEA   NOT NULL CHECK (length(event_hash) = 32)
);

-- Every hash of the tree a log stores (Go tlog's layout: the leaf hashes
-- and the root of every complete subtree), by stored hash index.
CREATE TABLE tlog_hashes (
    stored_index  BIGINT  PRIMARY KEY CHECK (stored_index >= 0),
    hash          BYTEA   NOT NULL CHECK (length(hash) = 32)
);

-- Every checkpoint the log signed: never two for one size (the primary
-- key), so a restart can only sign again what it signed before.
CREATE TABLE tlog_checkpoints (
    tree_size   BIGINT      PRIMARY KEY CHECK (tree_size >= 0),
    root_hash   BYTEA       NOT NULL CHECK (length(root_hash) = 32),
    -- The signed note, as served.
    note        TEXT        NOT NULL,
    signed_at   TIMESTAMPTZ NOT NULL
);

-- The site serves the log: it may read these tables too. Operators who
-- create the site's role themselves run the same GRANT.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'gongkai_site') THEN
        EXECUTE 'GRANT SELECT ON tlog_leaves, tlog_hashes, tlog_checkpoints TO gongkai_site';
    END IF;
END
$$;
