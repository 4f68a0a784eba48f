-- jobs.db, migration 1: every job of core and of every extension (docs/architecture.md §2).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,                -- uuid4 text
    name TEXT NOT NULL,                 -- 'core.index', 'com.example.photos.analyze_photos'
    extension_id TEXT,                  -- NULL for core
    status TEXT NOT NULL CHECK (status IN
        ('queued', 'running', 'paused', 'completed', 'failed', 'cancelled')),
    trigger TEXT NOT NULL DEFAULT 'user_initiated',
    args TEXT NOT NULL DEFAULT '{}',    -- JSON
    phase TEXT,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER,
    message TEXT,
    checkpoint TEXT,                    -- JSON state saved by ctx.checkpoint()
    result TEXT,                        -- JSON
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner_pid INTEGER,                  -- process running it; a dead owner means resumable
    created_at TEXT NOT NULL,
    started_at TEXT,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX idx_jobs_status ON jobs(status);
CREATE INDEX idx_jobs_extension ON jobs(extension_id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,                  -- deterministic key: a completed task is never run twice
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    args TEXT,
    result TEXT,
    error TEXT,
    started_at TEXT,
    finished_at TEXT,
    UNIQUE (job_id, key)
);
