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
    last_sync_at TEXT,
    need TEXT NOT NULL DEFAULT '[]',    -- blob hashes the peer said it lacks (JSON list)
    resend_below INTEGER NOT NULL DEFAULT 0  -- until acked_seq reaches it, send what came from it too
);

-- Blobs a peer holds, so they are not sent to it again: seq 0 = it sent them to us; seq > 0 =
-- we sent them in a bundle up to that seq, held once the peer acknowledged it.
CREATE TABLE sync_blob_peers (
    peer BLOB NOT NULL,
    hash TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (peer, hash)
) WITHOUT ROWID;

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

-- Which half of the replicated state changed since the last scan: 'shared' (tags, links,
-- metadata, collections, models) or 'owned' (this device's rows). A scan reads only what is marked,
-- so a sync after a tag edit does not re-read every entry. One tiny row per part: the
-- triggers stay cheap on the indexer's hot path. Both parts start marked. The triggers test
-- for the row instead of INSERT OR IGNORE: an UPSERT overrides the conflict clause of the
-- statements its triggers run, and would fail on the duplicate.
CREATE TABLE sync_dirty (part TEXT PRIMARY KEY) WITHOUT ROWID;
INSERT INTO sync_dirty (part) VALUES ('shared'), ('owned');
CREATE TRIGGER sync_dirty_tags_insert AFTER INSERT ON tags BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_tags_update AFTER UPDATE ON tags BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_tags_delete AFTER DELETE ON tags BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_tag_links_insert AFTER INSERT ON tag_links BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_tag_links_update AFTER UPDATE ON tag_links BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_tag_links_delete AFTER DELETE ON tag_links BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_user_metadata_insert AFTER INSERT ON user_metadata BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_user_metadata_update AFTER UPDATE ON user_metadata BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_user_metadata_delete AFTER DELETE ON user_metadata BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_collections_insert AFTER INSERT ON collections BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_collections_update AFTER UPDATE ON collections BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_collections_delete AFTER DELETE ON collections BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_collection_items_insert AFTER INSERT ON collection_items BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_collection_items_update AFTER UPDATE ON collection_items BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_collection_items_delete AFTER DELETE ON collection_items BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_locations_insert AFTER INSERT ON locations BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_locations_update AFTER UPDATE ON locations BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_locations_delete AFTER DELETE ON locations BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_entries_insert AFTER INSERT ON entries BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_entries_update AFTER UPDATE ON entries BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_entries_delete AFTER DELETE ON entries BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_content_identities_insert AFTER INSERT ON content_identities BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_content_identities_update AFTER UPDATE ON content_identities BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_content_identities_delete AFTER DELETE ON content_identities BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_devices_update AFTER UPDATE OF name, hostname, os ON devices BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_devices_insert AFTER INSERT ON devices BEGIN
    INSERT INTO sync_dirty (part) SELECT 'owned' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'owned');
END;
CREATE TRIGGER sync_dirty_models_insert AFTER INSERT ON models BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_models_update AFTER UPDATE ON models BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_models_delete AFTER DELETE ON models BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_model_blobs_insert AFTER INSERT ON model_blobs BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_model_blobs_update AFTER UPDATE ON model_blobs BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_model_blobs_delete AFTER DELETE ON model_blobs BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_user_metadata_blobs_insert AFTER INSERT ON user_metadata_blobs BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_user_metadata_blobs_update AFTER UPDATE ON user_metadata_blobs BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
CREATE TRIGGER sync_dirty_user_metadata_blobs_delete AFTER DELETE ON user_metadata_blobs BEGIN
    INSERT INTO sync_dirty (part) SELECT 'shared' WHERE NOT EXISTS
        (SELECT 1 FROM sync_dirty WHERE part = 'shared');
END;
