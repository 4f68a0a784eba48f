-- jobs.db, migration 3: when each on_schedule job last fired (core/jobs/autostart.py), so a
-- schedule missed while the library was closed fires once on the next open, and two processes
-- never both fire one due time.
CREATE TABLE IF NOT EXISTS job_schedules (
    name TEXT PRIMARY KEY,              -- the job's registered name
    last_fired TEXT NOT NULL            -- ISO-8601 UTC of the last due time fired
);
