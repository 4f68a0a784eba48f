"""A real process for the WASM job crash test.

    python wasm_job_worker.py LIBRARY start     run the installed WASM job "steps", wait
    python wasm_job_worker.py LIBRARY resume    resume every pending job, print the results
"""
from __future__ import annotations

import json
import sys

import core

EXT = "com.test.wasmjobs"

if __name__ == "__main__":
    lib = core.Library.open(sys.argv[1])      # the WASM extension comes back with the library
    try:
        if sys.argv[2] == "start":
            job = lib.extensions.run_job(EXT, "steps")
            print(job.id, flush=True)
            job.wait(timeout=120)
        else:
            jobs = lib.jobs.resume_pending()
            print(json.dumps({"resumed": [j.id for j in jobs],
                              "results": [j.wait(timeout=120) for j in jobs]}))
    finally:
        lib.close()
