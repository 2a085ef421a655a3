-- The transparency log: one Merkle tree (RFC 6962) over every event, in the
-- order the log appended them, with signed checkpoints (C2SP
-- tlog-checkpoint). All of it is public: the leaves are event hashes, which
-- the public timeline lets anyone recompute.

-- One leaf per event. `leaf_index` is dense from 0; the log appends in
-- position order (on SQLite positions become visible in order), and
-- `transaction_id` is always 0.
CREATE TABLE tlog_leaves (
    leaf_index      INTEGER PRIMARY KEY CHECK (leaf_index >= 0),
    event_position  INTEGER NOT NULL UNIQUE REFERENCES events (position),
    transaction_id  INTEGER NOT NULL,
    project_code    TEXT    NOT NULL,
    project_seq     INTEGER NOT NULL,
    -- The leaf's data: the event's 32-byte chain hash.
    event_hash      BLOB    NOT NULL CHECK (length(event_hash) = 32)
);

-- Every hash of the tree a log stores (Go tlog's layout: the leaf hashes
-- and the root of every complete subtree), by stored hash index.
CREATE TABLE tlog_hashes (
    stored_index  INTEGER PRIMARY KEY CHECK (stored_index >= 0),
    hash          BLOB    NOT NULL CHECK (length(hash) = 32)
);

-- Every checkpoint the log signed: never two for one size (the primary
-- key), so a restart can only sign again what it signed before.
CREATE TABLE tlog_checkpoints (
    tree_size   INTEGER PRIMARY KEY CHECK (tree_size >= 0),
    root_hash   BLOB    NOT NULL CHECK (length(root_hash) = 32),
    -- The signed note, as served.
    note        TEXT    NOT NULL,
    signed_at   TEXT    NOT NULL
);
