"""Durable jobs and tasks: state, checkpoints and task results in the library's jobs.db.

    from core.jobs import job, task, register_job
    @task(retries=3, timeout_ms=30000)
    def fetch(url): ...
    @job(parallelism=4)
    def crawl(ctx, urls): return ctx.map(fetch, urls)
    lib.jobs.submit(crawl, {"urls": [...]}).wait()
"""
from .context import JobContext
from .errors import JobCancelled, JobError, JobFailed, TaskFailed, TaskTimeout
from .executor import TaskContext
from .handle import Job
from .manager import JobManager
from .registry import (JobSpec, TaskSpec, get_job_spec, job, register_job, task,
                       unregister_job)

__all__ = ["Job", "JobCancelled", "JobContext", "JobError", "JobFailed", "JobManager", "JobSpec",
           "TaskContext", "TaskFailed", "TaskSpec", "TaskTimeout", "get_job_spec", "job",
           "register_job", "task", "unregister_job"]
