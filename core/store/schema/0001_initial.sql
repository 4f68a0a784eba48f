-- Migration 1: the library's first schema (docs/architecture.md §2).
-- UUIDs are 16-byte BLOBs throughout.
-- The DDL of models, metadata_blobs, model_blobs, user_metadata_blobs and
-- collection_items.model_uuid store extension models and their blobs (docs/architecture.md §6).

CREATE TABLE devices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    name TEXT NOT NULL,
    hostname TEXT,
    os TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL
);

CREATE TABLE locations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    path TEXT NOT NULL,                 -- absolute path of the root folder on its device
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_indexed_at TEXT,
    UNIQUE (device_id, path)
);

CREATE TABLE content_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,          -- uuid5(NAMESPACE_DNS, content_hash)
    content_hash TEXT UNIQUE NOT NULL,  -- 16 hex chars, sampled BLAKE3 (docs/architecture.md §3)
    integrity_hash TEXT,                -- full BLAKE3, computed before destructive actions
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    mime_type TEXT,
    entry_count INTEGER NOT NULL DEFAULT 0,
    first_seen_at TEXT NOT NULL,
    last_verified_at TEXT
);

CREATE TABLE entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    location_id INTEGER NOT NULL REFERENCES locations(id),
    parent_id INTEGER REFERENCES entries(id),
    path TEXT NOT NULL,                 -- absolute, '/'-separated; invalid UTF-8 shown escaped
    raw_path BLOB,                      -- the exact bytes when the name is not valid UTF-8
    name TEXT NOT NULL,
    ext TEXT,                           -- lower-case, without the dot
    kind TEXT NOT NULL,
    is_dir INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,    -- bytes; for directories the aggregate size
    child_count INTEGER NOT NULL DEFAULT 0,   -- directories: files and folders below
    inode INTEGER,
    mtime_ns INTEGER,
    ctime_ns INTEGER,
    content_id INTEGER REFERENCES content_identities(id),
    indexed_at TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_entries_path ON entries(location_id, path);
CREATE INDEX idx_entries_path_global ON entries(path);
CREATE INDEX idx_entries_parent ON entries(parent_id);
CREATE INDEX idx_entries_content ON entries(content_id);
CREATE INDEX idx_entries_inode ON entries(location_id, inode);

CREATE TABLE user_metadata (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    entry_uuid BLOB REFERENCES entries(uuid),                      -- this path only
    content_identity_uuid BLOB REFERENCES content_identities(uuid), -- every copy
    notes TEXT,
    favorite INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    custom_data TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (NOT (entry_uuid IS NOT NULL AND content_identity_uuid IS NOT NULL))
);
CREATE UNIQUE INDEX idx_user_metadata_entry ON user_metadata(entry_uuid) WHERE entry_uuid IS NOT NULL;
CREATE UNIQUE INDEX idx_user_metadata_content ON user_metadata(content_identity_uuid)
    WHERE content_identity_uuid IS NOT NULL;

CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    name TEXT UNIQUE NOT NULL,          -- canonical: '#vacation', '#person:alice'
    namespace TEXT,                     -- 'person' for '#person:alice'
    color TEXT,
    parent_id INTEGER REFERENCES tags(id),
    created_at TEXT NOT NULL
);

CREATE TABLE tag_links (
    metadata_id INTEGER NOT NULL REFERENCES user_metadata(id),
    tag_id INTEGER NOT NULL REFERENCES tags(id),
    applied_by TEXT NOT NULL,           -- 'user' or an extension id
    applied_at TEXT NOT NULL,
    PRIMARY KEY (metadata_id, tag_id)
);
CREATE INDEX idx_tag_links_tag ON tag_links(tag_id);

CREATE TABLE collections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    name TEXT UNIQUE NOT NULL,
    description TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE collection_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    entry_uuid BLOB REFERENCES entries(uuid),
    content_uuid BLOB REFERENCES content_identities(uuid),
    model_uuid BLOB REFERENCES models(uuid),
    added_at TEXT NOT NULL,
    CONSTRAINT check_item_type
        CHECK (entry_uuid IS NOT NULL OR content_uuid IS NOT NULL OR model_uuid IS NOT NULL)
);
CREATE INDEX idx_collection_items_collection ON collection_items(collection_id, position);

-- 1. Extension models (lightweight data)
CREATE TABLE models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    extension_id TEXT NOT NULL,
    model_type TEXT NOT NULL,
    data TEXT NOT NULL,                 -- lightweight JSON only
    entry_uuid BLOB REFERENCES entries(uuid),
    content_identity_uuid BLOB REFERENCES content_identities(uuid),
    standalone BOOLEAN DEFAULT 0,
    metadata_id INTEGER NOT NULL REFERENCES user_metadata(id),
    sync_strategy INTEGER NOT NULL,     -- 0=DeviceOwned, 1=Shared
    hlc_timestamp TEXT,
    device_uuid BLOB,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    schema_version TEXT,                -- the @model(version=...) that wrote `data`
    CHECK (
        (entry_uuid IS NOT NULL AND content_identity_uuid IS NULL AND standalone = 0) OR
        (entry_uuid IS NULL AND content_identity_uuid IS NOT NULL AND standalone = 0) OR
        (entry_uuid IS NULL AND content_identity_uuid IS NULL AND standalone = 1)
    )
);

-- 2. Large data storage (content-addressed, deduplicated)
CREATE TABLE metadata_blobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_hash TEXT UNIQUE NOT NULL,     -- BLAKE3 of the uncompressed bytes
    blob_data BLOB NOT NULL,            -- compressed bytes
    blob_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    compression TEXT,                   -- 'zstd', 'gzip', NULL
    reference_count INTEGER DEFAULT 1,
    created_at TEXT NOT NULL,
    last_accessed_at TEXT NOT NULL
);

-- 3. Links models to large blobs
CREATE TABLE model_blobs (
    model_uuid BLOB NOT NULL REFERENCES models(uuid),
    blob_key TEXT NOT NULL,
    blob_id INTEGER NOT NULL REFERENCES metadata_blobs(id),
    PRIMARY KEY (model_uuid, blob_key)
);

-- 4. Links user_metadata to large blobs (for entries/content)
CREATE TABLE user_metadata_blobs (
    metadata_id INTEGER NOT NULL REFERENCES user_metadata(id),
    blob_key TEXT NOT NULL,
    blob_id INTEGER NOT NULL REFERENCES metadata_blobs(id),
    PRIMARY KEY (metadata_id, blob_key)
);

CREATE INDEX idx_models_uuid ON models(uuid);
CREATE INDEX idx_models_extension ON models(extension_id, model_type);
CREATE INDEX idx_models_content ON models(content_identity_uuid);
CREATE INDEX idx_models_entry ON models(entry_uuid);
CREATE INDEX idx_models_metadata ON models(metadata_id);
CREATE UNIQUE INDEX idx_metadata_blobs_hash ON metadata_blobs(blob_hash);
CREATE INDEX idx_model_blobs_model ON model_blobs(model_uuid);

CREATE TABLE extensions (
    id TEXT PRIMARY KEY,                -- reverse-DNS id
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,             -- JSON
    config TEXT NOT NULL DEFAULT '{}',  -- JSON settings
    enabled INTEGER NOT NULL DEFAULT 1,
    installed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE extension_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    extension_id TEXT NOT NULL REFERENCES extensions(id) ON DELETE CASCADE,
    permission TEXT NOT NULL,           -- 'ReadEntries', 'WriteTags', ...
    params TEXT NOT NULL DEFAULT '{}',  -- JSON: glob, kinds, category ...
    scope TEXT NOT NULL DEFAULT '[]',   -- JSON list of locations / path prefixes; [] = everywhere
    granted_at TEXT NOT NULL
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid BLOB UNIQUE NOT NULL,
    action TEXT NOT NULL,
    extension_id TEXT,
    actor TEXT NOT NULL,
    preview TEXT NOT NULL,              -- JSON ActionPreview
    inverse TEXT,                       -- JSON list of inverse changes
    outcome TEXT NOT NULL,              -- committed, verify_failed, refused, undone
    error TEXT,
    created_at TEXT NOT NULL,
    undone_at TEXT
);

CREATE TABLE sync_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hlc TEXT NOT NULL,
    device_uuid BLOB NOT NULL,
    table_name TEXT NOT NULL,
    record_uuid BLOB NOT NULL,
    op TEXT NOT NULL,                   -- insert, update, delete
    data TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_sync_log_hlc ON sync_log(hlc);
