"""Models and blobs benchmark: N Person models with a 512×float32 embedding blob each.

Prints, all measured in this run:
  * create rate (one transaction per 1,000 models through VdfsApi),
  * select_inline_only vs full load (every embedding read and decoded) and their ratio,
  * blob bytes before and after zstd (what zstd really does to float32),
  * the dedup ratio when 10% of the embeddings repeat an earlier one,
  * for comparison, the same embeddings with quantize="float16" and "int8".

    .venv/bin/python benchmarks/models_bench.py            # N = 100,000
    .venv/bin/python benchmarks/models_bench.py --n 20000
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core import Library
from core.domain import blobs  # noqa: E402
from core.domain.models import blob_data, load_blobs, model  # noqa: E402

DIM = 512


@model(version="1.0.0", scope="standalone", extension_id="bench.photos")
@dataclass
class Person:
    name: str
    photo_count: int = 0
    embedding: np.ndarray = blob_data(compression="zstd", lazy=True)


@model(version="1.0.0", scope="standalone", extension_id="bench.f16", name="Person")
@dataclass
class PersonF16:
    name: str
    embedding: np.ndarray = blob_data(quantize="float16")


@model(version="1.0.0", scope="standalone", extension_id="bench.i8", name="Person")
@dataclass
class PersonI8:
    name: str
    embedding: np.ndarray = blob_data(quantize="int8")


def embeddings(n: int, repeat: float, seed: int = 7) -> list[np.ndarray]:
    """n unit-norm float32 vectors; a `repeat` fraction are copies of earlier ones."""
    rng = np.random.default_rng(seed)
    unique = n - int(n * repeat)
    base = rng.standard_normal((unique, DIM)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    out = list(base)
    out += [base[i] for i in rng.integers(0, unique, n - unique)]
    order = rng.permutation(n)
    return [out[i] for i in order]


def create(lib: Library, cls: type, vecs: list[np.ndarray], batch: int = 1000) -> float:
    api = lib.vdfs()
    t0 = time.perf_counter()
    for start in range(0, len(vecs), batch):
        with api.batch():
            for i in range(start, min(start + batch, len(vecs))):
                api.create_model(cls(name=f"person {i}", embedding=vecs[i]))
    return time.perf_counter() - t0


def median_time(fn, runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2], result


def query(lib: Library, inline_only: bool):
    """Through the query language when it exists, else the host API's plain listing."""
    api = lib.vdfs()
    try:
        q = api.query_models(Person)
        return q.select_inline_only().collect() if inline_only else q.collect()
    except (ImportError, AttributeError):
        return api.list_models(Person, inline_only=inline_only)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=float, default=0.10, help="fraction of repeated embeddings")
    ap.add_argument("--quant-n", type=int, default=5_000, help="models for the quantize rows")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("VDFS_HOME", tmp)
        lib = Library.create(Path(tmp) / "bench.vdfs")
        vecs = embeddings(args.n, args.repeat)
        secs = create(lib, Person, vecs)
        print(f"created {args.n:,} Person models (512×float32 embedding): {secs:.1f} s, "
              f"{args.n / secs:,.0f} models/s")

        counters = lib.blob_stats
        reads0 = counters.reads
        t_inline, people = median_time(lambda: query(lib, inline_only=True))
        inline_reads = counters.reads - reads0
        assert len(people) == args.n and inline_reads == 0

        def full():
            got = query(lib, inline_only=False)
            load_blobs(got)
            return sum(float(p.embedding[0]) for p in got)
        t_full, _ = median_time(full)
        print(f"select_inline_only: {t_inline * 1e3:,.0f} ms ({inline_reads} blob reads); "
              f"full load with every embedding: {t_full * 1e3:,.0f} ms; "
              f"full / inline = {t_full / t_inline:.1f}x")

        lazy_people = query(lib, inline_only=True)[:10_000]
        t0 = time.perf_counter()
        for p in lazy_people:
            _ = p.embedding
        t_lazy = time.perf_counter() - t0
        print(f"lazy first access, one blob at a time: {t_lazy / len(lazy_people) * 1e6:.0f} µs "
              f"per model")

        tot = blobs.blob_totals(lib.conn)
        logical = tot["references"] * tot["raw_bytes"] / max(tot["blobs"], 1)
        print(f"blobs: {tot['blobs']:,} stored for {tot['references']:,} references "
              f"(dedup ratio {tot['references'] / tot['blobs']:.3f}; "
              f"{args.repeat:.0%} of embeddings repeat)")
        print(f"blob bytes before zstd: {tot['raw_bytes']:,}; after zstd: {tot['stored_bytes']:,}; "
              f"zstd ratio on float32 = {tot['raw_bytes'] / tot['stored_bytes']:.3f}")
        print(f"logical embedding bytes {logical:,.0f} -> stored {tot['stored_bytes']:,} "
              f"(dedup and zstd together: {logical / tot['stored_bytes']:.3f}x)")
        lib.close()

        for cls, label in ((PersonF16, "float16"), (PersonI8, "int8")):
            qlib = Library.create(Path(tmp) / f"bench-{label}.vdfs")
            sample = embeddings(args.quant_n, 0.0, seed=11)
            create(qlib, cls, sample)
            qt = blobs.blob_totals(qlib.conn)
            f32 = args.quant_n * DIM * 4
            back = qlib.vdfs().list_models(cls)[0].embedding
            err = float(np.abs(back - sample[0]).max())
            print(f"quantize={label}: {qt['stored_bytes']:,} bytes stored for {f32:,} bytes of "
                  f"float32 = {f32 / qt['stored_bytes']:.2f}x smaller (max abs error {err:.2e})")
            qlib.close()


if __name__ == "__main__":
    main()
