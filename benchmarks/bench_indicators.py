"""Benchmark of the indicator suite on DuckDB over the Parquet files of a generated province.

Usage::

    .venv/bin/python benchmarks/bench_indicators.py --data DIR
    .venv/bin/python benchmarks/bench_indicators.py --fee-lines 10000000 --institutions 1000 \\
        [--keep DIR] [--memory 6GB]

With ``--fee-lines`` a province is generated first (``riskscore.synth``, Parquet) into a
temporary folder (or ``--keep DIR``). Two measurements, each in a fresh process so that the
peak resident set size (``resource.getrusage``, DuckDB runs in-process) is its own:

* **floor** — a plain single-pass DuckDB aggregate over the same files (fee lines per
  institution: count, amount, quantity; encounters per institution);
* **suite** — :func:`riskscore.indicators.compute_indicators` with ``read_parquet_direct=True``
  (every indicator, values and evidence, out-of-core over Parquet).

``--replicate K`` measures on K copies of the province's claim tables (ids suffixed per copy),
e.g. a 10M-line province × 10 for 100M lines without generating it again.

Prints wall time and peak memory of both. Not a timed test: run it by hand on a quiet machine
and record the figures in ``docs/indicators.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOOR_SQL = """
SELECT f.fixmedins_code, f.n_lines, f.amount, f.qty, e.n_enc
FROM (SELECT fixmedins_code, count(*) AS n_lines, sum(det_item_fee_sumamt) AS amount,
             sum(cnt) AS qty
      FROM read_parquet('{fee}') GROUP BY 1) f
LEFT JOIN (SELECT fixmedins_code, count(*) AS n_enc FROM read_parquet('{enc}') GROUP BY 1) e
USING (fixmedins_code)
"""


# id columns made unique per copy when a province is replicated (--replicate K)
REPLICATE_IDS = {
    "fee_list_d": ("bkkp_sn", "mdtrt_id", "setl_id", "psn_no", "rx_drord_no"),
    "mdtrt_d": ("mdtrt_id", "psn_no", "refl_old_mdtrt_id"),
    "setl_d": ("setl_id", "mdtrt_id", "psn_no"),
    "psn_info_b": ("psn_no",),
    "setl_list_diag_d": ("setl_id", "mdtrt_id", "psn_no"),
}


def replicate(src: Path, dst: Path, k: int) -> None:
    """Write ``k`` copies of a province's claim tables (ids suffixed ``~i``) into ``dst``.

    The copies share institutions, procurement and stock tables; each copy is an independent
    set of persons and claims, so every indicator keeps its meaning at k times the volume.
    """
    import duckdb

    dst.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET memory_limit='4GB'")
    con.execute("SET preserve_insertion_order=false")
    for f in src.iterdir():
        name = f.name.split(".")[0]
        if name in REPLICATE_IDS and f.suffix == ".parquet":
            cols = [
                r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{f}')").fetchall()
            ]
            rep = ", ".join(
                f"CAST({c} AS VARCHAR) || '~' || CAST(rep_k AS VARCHAR) AS {c}"
                for c in REPLICATE_IDS[name]
                if c in cols
            )
            con.execute(
                f"COPY (SELECT * EXCLUDE (rep_k) REPLACE ({rep}) FROM read_parquet('{f}'), "
                f"range({k}) r(rep_k)) TO '{dst / f.name}' (FORMAT parquet)"
            )
        elif f.is_file():
            shutil.copy(f, dst / f.name)
        elif f.is_dir():
            shutil.copytree(f, dst / f.name, dirs_exist_ok=True)


def _peak_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 1024.0 / 1024.0


def _files(data: Path, name: str) -> str:
    p = data / f"{name}.parquet"
    if p.exists():
        return str(p)
    if (data / name).is_dir():
        return str(data / name / "*.parquet")
    raise SystemExit(f"{data}: {name}.parquet not found")


def run_floor(data: Path, memory: str | None) -> dict:
    import duckdb

    con = duckdb.connect()
    if memory:
        con.execute(f"SET memory_limit='{memory}'")
    t0 = time.perf_counter()
    df = con.execute(
        FLOOR_SQL.format(fee=_files(data, "fee_list_d"), enc=_files(data, "mdtrt_d"))
    ).df()
    wall = time.perf_counter() - t0
    return {"phase": "floor", "wall_s": wall, "peak_mb": _peak_mb(), "rows": int(df.n_lines.sum())}


def run_suite(data: Path, memory: str | None) -> dict:
    if memory:
        os.environ["RISKSCORE_DUCKDB_MEMORY"] = memory
    os.environ.setdefault("RISKSCORE_DUCKDB_TEMP", tempfile.mkdtemp(prefix="rs_duck_"))
    from riskscore.indicators import compute_indicators

    t0 = time.perf_counter()
    res = compute_indicators(data, progress=True, read_parquet_direct=True)
    wall = time.perf_counter() - t0
    return {
        "phase": "suite",
        "wall_s": wall,
        "peak_mb": _peak_mb(),
        "indicators": len(res.computed),
        "skipped": res.skipped,
        "evidence_rows": len(res.evidence),
        "fee_lines": int(res.exposure.n_fee_lines.sum()),
        "timings": {k: round(v, 2) for k, v in res.timings.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="generated province (Parquet)")
    ap.add_argument("--fee-lines", type=int, default=None, help="generate this many fee lines")
    ap.add_argument("--institutions", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", type=Path, default=None, help="generate here and keep the files")
    ap.add_argument("--memory", default=None, help="DuckDB memory_limit, e.g. 6GB")
    ap.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="measure on K copies of the province (ids suffixed; written next to it, deleted after)",
    )
    ap.add_argument(
        "--phase", choices=("floor", "suite", "replicate"), default=None, help=argparse.SUPPRESS
    )
    ap.add_argument("--json", action="store_true", help="print one JSON line per phase")
    args = ap.parse_args()

    if args.phase == "replicate":
        replicate(args.data, args.keep, args.replicate)
        return 0
    if args.phase:  # child process: one measurement
        fn = run_floor if args.phase == "floor" else run_suite
        print("RESULT " + json.dumps(fn(args.data, args.memory)), flush=True)
        return 0

    tmp = None
    data = args.data
    if data is None:
        if not args.fee_lines:
            ap.error("give --data DIR or --fee-lines N")
        from riskscore.synth import SynthConfig, generate

        data = args.keep or Path(tempfile.mkdtemp(prefix="bench_ind_"))
        tmp = None if args.keep else data
        t0 = time.perf_counter()
        cfg = SynthConfig(
            institutions=args.institutions, seed=args.seed, fee_lines=args.fee_lines, progress=True
        )
        generate(data, cfg)
        print(f"generated {data} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    rep_dir = None
    if args.replicate > 1:
        rep_dir = Path(tempfile.mkdtemp(prefix=f"bench_ind_x{args.replicate}_"))
        t0 = time.perf_counter()
        # in a child process: the RSS high-water mark of this process is inherited by the
        # measured children (fork), so this process stays small
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--phase",
                "replicate",
                "--data",
                str(data),
                "--replicate",
                str(args.replicate),
                "--keep",
                str(rep_dir),
            ],
            check=True,
        )
        print(f"replicated x{args.replicate} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        data = rep_dir
    results = []
    try:
        for phase in ("floor", "suite"):
            cmd = [sys.executable, __file__, "--phase", phase, "--data", str(data)]
            if args.memory:
                cmd += ["--memory", args.memory]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            line = next(x for x in out.splitlines() if x.startswith("RESULT "))
            results.append(json.loads(line[len("RESULT ") :]))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if rep_dir is not None:
            shutil.rmtree(rep_dir, ignore_errors=True)
    if args.json:
        for r in results:
            print(json.dumps(r))
        return 0
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}"
    )
    for r in results:
        extra = (
            f"  rows={r['rows']:,}"
            if r["phase"] == "floor"
            else f"  indicators={r['indicators']} evidence={r['evidence_rows']:,} "
            f"fee_lines={r['fee_lines']:,} skipped={len(r['skipped'])}"
        )
        print(f"{r['phase']:6s} wall {r['wall_s']:8.1f} s   peak {r['peak_mb']:8.0f} MB{extra}")
        for k, v in sorted(r.get("timings", {}).items(), key=lambda kv: -kv[1]):
            print(f"    {k:28s} {v:7.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
