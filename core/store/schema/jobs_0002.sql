-- jobs.db, migration 2: what the runtime needs to resume, control and find a job's code.
-- owner: "<pid>:<process start ticks>:<manager token>" of the process running the job, so a
--        dead owner (or a reused pid) is recognised and the job is resumable.
-- control: a request from any process ('pause' or 'cancel'); the running job obeys it at its
--          next safe point (task boundary, checkpoint, progress, is_cancelled).
-- entrypoint: "module:qualname" of the job function, imported to resume in a fresh process.
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN control TEXT CHECK (control IN ('pause', 'cancel'));
ALTER TABLE jobs ADD COLUMN entrypoint TEXT;
ALTER TABLE jobs ADD COLUMN parallelism INTEGER NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD COLUMN heartbeat_at TEXT;
CREATE INDEX idx_jobs_name ON jobs(name, status);
CREATE INDEX idx_tasks_job_status ON tasks(job_id, status);
