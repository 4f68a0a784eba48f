-- Migration 4: sync between devices (docs/sync.md).
-- sync_records: the last known winning version of every replicated record, keyed by natural
-- key ('tag/#vacation', 'meta/content/<uuid>/notes', 'entry/<uuid>'). value NULL is a
-- tombstone. seq is this device's sequence number of the record's last change (exports send
-- seq > what a peer acknowledged); pending = 1 when the winning value could not be applied yet
-- (its entry, collection or location has not arrived); via = the peer it came from.
CREATE TABLE sync_records (
    key TEXT PRIMARY KEY,
    hlc TEXT NOT NULL,
    value TEXT,
    seq INTEGER NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0,
    via BLOB
);
CREATE INDEX idx_sync_records_seq ON sync_records(seq);
CREATE INDEX idx_sync_records_pending ON sync_records(pending) WHERE pending = 1;

-- Small settings: the persisted HLC ('hlc'), the next seq ('seq'), the joined library id.
CREATE TABLE sync_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Peers this device exchanges with. secret is NULL for bundle-only peers.
CREATE TABLE sync_peers (
    device_uuid BLOB PRIMARY KEY,
    name TEXT,
    url TEXT,
    secret TEXT,
    acked_seq INTEGER NOT NULL DEFAULT 0,
    recv_seq INTEGER NOT NULL DEFAULT 0,
    paired_at TEXT,
    revoked_at TEXT,
    last_sync_at TEXT
);

-- One-time pairing codes, stored as hashes only.
CREATE TABLE sync_pairing (
    code_hash TEXT PRIMARY KEY,
    expires_at TEXT NOT NULL
);

-- Refused attempts: a peer that wrote rows another device owns, a bad bundle.
CREATE TABLE sync_refusals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    peer BLOB,
    reason TEXT NOT NULL
);
