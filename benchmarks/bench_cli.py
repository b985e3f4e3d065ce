"""Benchmark of the commands users run: ``riskscore validate`` and ``riskscore score``.

Usage::

    .venv/bin/python benchmarks/bench_cli.py --data DIR [--data DIR2 ...] [--memory 6GB]
        [--csv-gb18030 OUT_DIR [--reuse-csv] [--skip-data]] [--json results.json]

Each command runs as a subprocess; the peak resident set size of its whole process tree
(the CLI and, with Spark, the JVM) is sampled every 0.2 s with psutil. In the same run the
one-pass DuckDB floor (fee lines and encounters aggregated per institution straight from the
Parquet files, in a fresh process) gives the ratio. ``--csv-gb18030 DIR`` first writes the
claims tables of the first ``--data`` folder as monthly GB18030 CSV files
(``DIR/fee_list_d/2025MM.csv`` …, registries copied) and measures the commands on them too.

Not a timed test: run it by hand and record the figures in ``docs/indicators.md``. The
machine it ran on is shared (2 cores), so timings are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

FLOOR = """
import duckdb, sys
d = sys.argv[1]
con = duckdb.connect()
con.execute(f'''
SELECT f.fixmedins_code, f.n_lines, f.amount, f.qty, e.n_enc
FROM (SELECT fixmedins_code, count(*) AS n_lines, sum(det_item_fee_sumamt) AS amount,
             sum(cnt) AS qty FROM read_parquet('{d}/fee_list_d.parquet') GROUP BY 1) f
LEFT JOIN (SELECT fixmedins_code, count(*) AS n_enc FROM read_parquet('{d}/mdtrt_d.parquet')
           GROUP BY 1) e USING (fixmedins_code)''').fetchall()
"""

CLAIMS = ("mdtrt_d", "setl_d", "fee_list_d", "setl_list_diag_d", "psn_info_b")


def measure(cmd: list[str]) -> dict:
    """Wall seconds and peak RSS (GB) of a subprocess tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(
                c.memory_info().rss for c in ps.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace")[-2000:]
    return {
        "wall_s": round(wall, 1),
        "peak_gb": round(peak / 2**30, 2),
        "rc": proc.returncode,
        **({"stderr": err} if proc.returncode else {}),
    }


def write_monthly_gb18030(src: Path, dst: Path) -> None:
    """The claims of ``src`` as one GB18030 CSV per month and table (registries copied)."""
    import duckdb

    dst.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    time_col = {
        "mdtrt_d": "begntime",
        "setl_d": "setl_time",
        "fee_list_d": "fee_ocur_time",
    }
    for f in src.iterdir():
        stem = f.name.split(".")[0]
        if stem in CLAIMS:
            continue
        if f.is_file():
            shutil.copy(f, dst / f.name)
    for name in CLAIMS:
        p = src / f"{name}.parquet"
        if not p.exists():
            continue
        out = dst / name
        out.mkdir(exist_ok=True)
        col = time_col.get(name)
        months = (
            [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT strftime({col}, '%Y%m') FROM read_parquet('{p}') ORDER BY 1"
                ).fetchall()
            ]
            if col
            else [None]
        )
        for m in months:
            where = f"WHERE strftime({col}, '%Y%m') = '{m}'" if m else ""
            tmp = out / f"{m or 'all'}.utf8.csv"
            con.execute(
                f"COPY (SELECT * FROM read_parquet('{p}') {where}) TO '{tmp}' (HEADER, DELIMITER ',')"
            )
            target = out / f"{m or 'all'}.csv"
            with open(tmp, encoding="utf-8") as fi, open(target, "w", encoding="gb18030") as fo:
                while block := fi.read(1 << 22):
                    fo.write(block)
            tmp.unlink()


def bench(data: Path, memory: str | None, label: str) -> dict:
    exe = str(Path(sys.executable).with_name("riskscore"))
    extra = ["--memory", memory] if memory else []
    out: dict = {"data": str(data), "label": label}
    if (data / "fee_list_d.parquet").exists():
        out["floor"] = measure([sys.executable, "-c", FLOOR, str(data)])
        out["fee_lines"] = int(
            __import__("pyarrow.parquet")
            .parquet.ParquetFile(data / "fee_list_d.parquet")
            .metadata.num_rows
        )
    with tempfile.TemporaryDirectory(dir=data.parent) as tmp:
        out["validate"] = measure([exe, "validate", "--data", str(data), *extra])
        out["score"] = measure(
            [exe, "score", "--data", str(data), "--out", str(Path(tmp) / "o"), "--quiet", *extra]
        )
    floor = out.get("floor")
    if floor:
        for k in ("validate", "score"):
            out[k]["ratio_wall"] = round(out[k]["wall_s"] / max(floor["wall_s"], 0.01), 1)
            out[k]["ratio_rss"] = round(out[k]["peak_gb"] / max(floor["peak_gb"], 0.01), 1)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, action="append", required=True)
    ap.add_argument("--memory", default=None)
    ap.add_argument("--csv-gb18030", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--reuse-csv",
        action="store_true",
        help="keep an existing --csv-gb18030 folder (written by an earlier run) instead of "
        "writing it again",
    )
    ap.add_argument(
        "--skip-data",
        action="store_true",
        help="measure only the GB18030 CSV folder (the --data folder is its source)",
    )
    args = ap.parse_args()
    results = [] if args.skip_data else [bench(d, args.memory, d.name) for d in args.data]
    if args.csv_gb18030 is not None:
        if (args.csv_gb18030 / "fee_list_d").is_dir() and args.reuse_csv:
            print(f"reusing the monthly GB18030 CSV in {args.csv_gb18030}", flush=True)
        else:
            t0 = time.perf_counter()
            write_monthly_gb18030(args.data[0], args.csv_gb18030)
            print(f"wrote monthly GB18030 CSV in {time.perf_counter() - t0:.0f} s", flush=True)
        r = bench(args.csv_gb18030, args.memory, args.data[0].name + " as monthly GB18030 CSV")
        results.append(r)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
