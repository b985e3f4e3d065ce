"""``riskscore score --engine spark`` on a real Spark standalone cluster.

A master and a worker process are started from the pyspark installation (``spark-class``),
bound to 127.0.0.1 on free ports, and stopped by process id at the end (also on failure).
The command runs as a subprocess, as users run it, and must write the same ``scores.csv`` as
DuckDB (numeric columns within 1e-6, same institutions and tiers).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.spark]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_class() -> Path:
    pyspark = pytest.importorskip("pyspark")
    path = Path(pyspark.__file__).parent / "bin" / "spark-class"
    if not path.exists() or (shutil.which("java") is None and not os.environ.get("JAVA_HOME")):
        pytest.skip("pyspark's spark-class or java not available")
    return path


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)  # the JVM and its launcher, by process group id
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``(master URL, environment)`` of a running standalone cluster (1 worker, 2 cores)."""
    spark_class = _spark_class()
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    logs = tmp_path_factory.mktemp("spark-cluster")
    env = {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_MASTER_HOST": "127.0.0.1",
        "SPARK_HOME": str(spark_class.parent.parent),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_WORKER_DIR": str(logs / "work"),
        "SPARK_LOG_DIR": str(logs),
    }
    url = f"spark://127.0.0.1:{port}"
    commands = [
        ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]
        + ["--webui-port", str(ui)],
        ["org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "2"]
        + ["--memory", "2g", "--webui-port", str(worker_ui)],
    ]
    procs: list[subprocess.Popen] = []
    try:
        for k, cmd in enumerate(commands):
            with open(logs / f"process{k}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        [str(spark_class), *cmd],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as r:
                    if json.load(r).get("aliveworkers", 0) >= 1:
                        break
            except OSError:
                pass
            if time.time() > deadline or any(p.poll() is not None for p in procs):
                text = "".join(p.read_text(errors="replace")[-1500:] for p in logs.glob("*.log"))
                pytest.fail("the Spark standalone cluster did not start:\n" + text)
            time.sleep(1)
        yield url, env
    finally:
        _stop(procs)


def test_score_on_a_standalone_cluster_equals_duckdb(cluster, tmp_path):
    url, env = cluster
    data = tmp_path / "data"
    exe = str(Path(sys.executable).with_name("riskscore"))
    synth = [exe, "synth", "--out", str(data), "--institutions", "40", "--seed", "5"]
    subprocess.run([*synth, "--no-progress"], check=True, env=env, capture_output=True)
    outs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / engine
        cmd = [exe, "score", "--data", str(data), "--out", str(out), "--quiet"]
        cmd += ["--engine", engine]
        if engine == "spark":
            cmd += ["--spark-master", url, "--memory", "1GB"]
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1500)
        assert r.returncode == 0, r.stderr[-3000:]
        outs[engine] = pd.read_csv(out / "scores.csv", dtype={"fixmedins_code": str})
        meta = json.loads((out / "score_meta.json").read_text(encoding="utf-8"))
        assert meta["engine"] == engine
    a, b = outs["duckdb"], outs["spark"]
    assert len(a) == 40
    assert list(a.columns) == list(b.columns)
    assert list(a["fixmedins_code"]) == list(b["fixmedins_code"])
    num = a.select_dtypes("number").columns
    assert list(num) == list(b.select_dtypes("number").columns)
    np.testing.assert_allclose(a[num].to_numpy(float), b[num].to_numpy(float), atol=1e-6, rtol=0)
    assert (a["tier"] == b["tier"]).all()
    text = [c for c in a.columns if c not in num]
    assert a[text].fillna("").astype(str).equals(b[text].fillna("").astype(str))
