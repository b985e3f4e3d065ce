"""Benchmark of ``riskscore synth``: wall time and peak memory at a fee-line target.

Usage::

    .venv/bin/python benchmarks/bench_synth.py [--fee-lines 10000000] [--institutions 1000]

Generates into a temporary folder (deleted afterwards) and prints the wall time, the peak
resident set size of the process (``resource.getrusage``), the rows written and the output
size. Not a timed test: run it by hand on a quiet machine and record the figures in
``docs/synth.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fee-lines", type=int, default=10_000_000)
    ap.add_argument("--institutions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the output")
    args = ap.parse_args()

    from riskscore.synth import SynthConfig, generate

    out = args.keep or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    cfg = SynthConfig(
        institutions=args.institutions, seed=args.seed, fee_lines=args.fee_lines, progress=True
    )
    t0 = time.perf_counter()
    s = generate(out, cfg)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(
        f"machine: {platform.machine()} {platform.system()} cpus={os.cpu_count()} "
        f"python={platform.python_version()}"
    )
    print(f"institutions={args.institutions} fee_lines_target={args.fee_lines:,} seed={args.seed}")
    print(
        f"fee_list_d rows={s.rows['fee_list_d']:,} mdtrt_d rows={s.rows['mdtrt_d']:,} "
        f"persons={s.rows['psn_info_b']:,}"
    )
    print(f"wall time: {wall:.1f} s ({s.rows['fee_list_d'] / wall:,.0f} fee lines/s)")
    print(f"peak RSS: {peak_kb / 1024:.0f} MB")
    print(f"output size: {size / 1e6:.0f} MB")
    if args.keep is None:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
