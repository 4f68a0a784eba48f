"""The "core.sync" job: push and pull with every paired peer that has a URL (or one URL).

A durable job with progress, so a notebook shows it like an index, and a library reopened after
a crash resumes it; `vdfs sync with URL --every S` or a schedule repeats it.
"""
from __future__ import annotations

from typing import Any

from core.jobs import register_job

JOB_NAME = "core.sync"


def run_sync(ctx: Any, url: str | None = None) -> dict[str, Any]:
    sync = ctx.lib.sync
    urls = [url] if url else [r[0] for r in ctx.lib.conn.execute(
        "SELECT url FROM sync_peers WHERE url IS NOT NULL AND secret IS NOT NULL AND "
        "revoked_at IS NULL ORDER BY url")]
    applied, failed = 0, {}
    for i, target in enumerate(urls):
        ctx.progress(i, len(urls), message=f"syncing with {target}")
        try:
            applied += sync.with_peer(target).applied
        except Exception as exc:         # one unreachable peer does not stop the others
            failed[target] = str(exc)
    ctx.progress(len(urls), len(urls))
    if failed and len(failed) == len(urls):
        from .errors import PeerUnreachableError
        raise PeerUnreachableError("; ".join(f"{u}: {m}" for u, m in failed.items()))
    return {"peers": len(urls), "applied": applied, "failed": failed}


register_job(JOB_NAME, run_sync)
