"""Run the indicator suite on an Ibis backend (DuckDB by default, PySpark on request)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd
from ibis import _

from riskscore.contract import TABLES
from riskscore.errors import RiskscoreError
from riskscore.paths import NHSA_RULES_DIR

from .registry import INDICATORS, Indicator, Skip
from .rules import load_liangku, load_rules

EPOCH = ibis.date(2000, 1, 1)

_IBIS_TYPE = {
    "code": "string",
    "str": "string",
    "int": "int64",
    "float": "float64",
    "date": "timestamp",
    "datetime": "timestamp",
}

# tables the indicators read (others are not registered with the backend)
USED_TABLES = (
    "institutions",
    "psn_info_b",
    "mdtrt_d",
    "setl_d",
    "fee_list_d",
    "setl_list_diag_d",
    "procurement_agreements",
    "purchases",
    "stock_moves",
    "inv_stocktake",
    "inv_purchase",
    "inv_purchase_return",
    "inv_sale",
    "inv_sale_return",
)


@dataclass
class IndicatorResult:
    """What :func:`compute_indicators` returns.

    Attributes
    ----------
    values : pandas.DataFrame
        ``fixmedins_code, indicator_id, family, numerator, denominator`` — one row per
        institution × computed indicator (institutions without eligible units are absent).
    evidence : pandas.DataFrame
        ``fixmedins_code, indicator_id, family, record_table, record_id, detail`` — the
        claim-level ids behind each numerator (capped per institution and indicator by
        ``evidence_max_per_institution``).
    skipped : list of (str, str)
        ``(indicator_id, reason)`` for indicators that could not run.
    exposure : pandas.DataFrame
        ``fixmedins_code, fund_paid, n_encounters, n_fee_lines`` (基金支付 exposure).
    computed : list of str
        Ids of the indicators that ran.
    rules : dict
        The parameters used (``_version`` included).
    notes : list of str
        两库 rule rows that could not be interpreted, absent rule files.
    timings : dict
        Wall seconds per computed indicator (shared inputs count where first built).
    """

    values: pd.DataFrame
    evidence: pd.DataFrame
    skipped: list[tuple[str, str]]
    exposure: pd.DataFrame
    computed: list[str] = field(default_factory=list)
    rules: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def rates(self) -> pd.DataFrame:
        """Wide table of raw rates (numerator ÷ denominator), institutions × indicator ids."""
        v = self.values.copy()
        v["rate"] = v["numerator"] / v["denominator"].where(v["denominator"] > 0)
        return v.pivot_table(index="fixmedins_code", columns="indicator_id", values="rate")


class Context:
    """What an indicator's ``compute`` sees: backend tables, parameters and 两库 rule tables."""

    def __init__(self, con, backend: str, tables: dict, rules: dict, liangku: dict):
        self.con = con
        self.backend = backend
        self.t = tables  # name -> ibis table
        self.rules = rules
        self.lk = liangku  # name -> ibis table
        self._cache: dict = {}
        self.materialize = True

    # ------------------------------------------------------------------ availability
    def has(self, table: str, *cols: str) -> bool:
        t = self.t.get(table)
        return t is not None and all(c in t.columns for c in cols)

    def missing(self, needs: dict[str, list[str]]) -> str | None:
        for table, cols in needs.items():
            if table not in self.t:
                return f"needs table {table} (absent)"
            absent = [c for c in cols if c not in self.t[table].columns]
            if absent:
                return "needs column " + ", ".join(f"{table}.{c}" for c in absent) + " (absent)"
        return None

    def require(self, table: str, *cols: str) -> None:
        why = self.missing({table: list(cols)})
        if why:
            raise Skip(why)

    def p(self, key: str):
        return self.rules[key]

    def cached(self, key, fn, materialize: bool = False):
        """Build an expression once; with ``materialize`` on DuckDB, store it as a temp table
        (shared inputs such as enriched fee lines are then computed once, not per indicator)."""
        if key not in self._cache:
            expr = fn()
            name = f"rs_mat_{len(self._cache)}_{abs(hash(str(key))) % 10**8}"
            if materialize and self.materialize and self.backend == "duckdb":
                expr = self.con.create_table(name, expr, temp=True)
            elif materialize and self.materialize and self.backend == "spark":
                from riskscore.io.spark import materialize_ibis

                expr = materialize_ibis(self.con, name, expr)
            self._cache[key] = expr
        return self._cache[key]


def day_num(col):
    """Whole days since 2000-01-01 of a timestamp/date column (integer, backend-portable)."""
    return col.cast("timestamp").date().delta(EPOCH, unit="day")


def units(t, fixmedins_code, record_table: str, record_id, num, den=None, flag=None, detail=None):
    """Build the standard unit table an indicator returns (see :mod:`.registry`)."""
    return t.select(
        fixmedins_code=fixmedins_code.cast("string"),
        record_table=ibis.literal(record_table),
        record_id=record_id.cast("string"),
        detail=(detail if detail is not None else ibis.null()).cast("string"),
        num=num.cast("float64"),
        den=(den if den is not None else ibis.literal(1.0)).cast("float64"),
        flag=(flag if flag is not None else (num > 0)).cast("boolean"),
    )


# ---------------------------------------------------------------------------- input handling
def _coerce_frame(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Give a pandas table the contract dtypes (tests pass raw frames; loaders already did)."""
    spec = TABLES.get(name)
    df = df.copy()
    if spec is None:
        return df
    for c in spec.columns:
        if c.name not in df.columns:
            continue
        s = df[c.name]
        if c.dtype in ("code", "str"):
            if pd.api.types.is_float_dtype(s):  # 1102000040000.0 read as a number
                nn = s.dropna()
                s = s.astype("Int64") if (nn == nn.round()).all() else s
            s = s.astype("string")
            if c.dtype == "code":  # "1102000040000.0" → "1102000040000", whitespace stripped
                s = s.str.strip().str.replace(r"^(\d+)\.0$", r"\1", regex=True)
                s = s.mask(s == "")
            df[c.name] = s
        elif c.dtype == "int":
            df[c.name] = pd.to_numeric(s, errors="coerce").astype("Int64")
        elif c.dtype == "float":
            df[c.name] = pd.to_numeric(s, errors="coerce").astype("float64")
        else:
            df[c.name] = pd.to_datetime(s, errors="coerce").astype("datetime64[ns]")
    return df


def _spark_frame(df: pd.DataFrame) -> pd.DataFrame:
    """pandas extension dtypes → plain numpy/object for ``spark.createDataFrame``."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.StringDtype) or s.dtype == object:
            out[c] = s.astype(object).where(s.notna(), None)
        elif str(s.dtype) == "Int64":
            out[c] = s.astype("float64")
        else:
            out[c] = s
    return out


def _spark_schema(df: pd.DataFrame):
    from pyspark.sql import types as T

    fields = []
    for c in df.columns:
        dt = df[c].dtype
        if pd.api.types.is_datetime64_any_dtype(dt):
            st = T.TimestampType()
        elif pd.api.types.is_bool_dtype(dt):
            st = T.BooleanType()
        elif pd.api.types.is_integer_dtype(dt) and str(dt) != "Int64":
            st = T.LongType()
        elif pd.api.types.is_numeric_dtype(dt):
            st = T.DoubleType()
        else:
            st = T.StringType()
        fields.append(T.StructField(c, st, True))
    return T.StructType(fields)


_SPARK = None


def spark_session(master: str | None = None, memory: str | None = None):
    """A local SparkSession (UI off, UTC session time zone) reused across calls."""
    global _SPARK
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RiskscoreError(
            "engine spark: pyspark is not installed; install riskscore[spark] or use --engine duckdb"
        ) from exc
    if _SPARK is None:
        builder = SparkSession.builder.master(
            master or os.environ.get("RISKSCORE_SPARK_MASTER", "local[2]")
        )
        if memory:  # a DuckDB-style size ("4.0GB") → Spark's ("4096m")
            import re

            m = re.fullmatch(r"([\d.]+)(KB|MB|GB|TB)", memory.upper())
            if m:
                mb = (
                    float(m.group(1))
                    * {"KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1 << 20}[m.group(2)]
                )
                builder = builder.config("spark.driver.memory", f"{max(512, int(mb))}m")
                builder = builder.config("spark.executor.memory", f"{max(512, int(mb))}m")
        _SPARK = (
            builder.appName("riskscore-indicators")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
    return _SPARK


class _Backend:
    def __init__(self, engine: str, con=None):
        self.engine = engine
        self._own = con is None
        if con is not None:  # an engine session's connection (riskscore.io.engine)
            self.con = con
            self._spark = getattr(con, "_session", None)
            if engine == "spark" and self._spark is None:
                self._spark = spark_session()
        elif engine == "duckdb":
            self.con = ibis.duckdb.connect()
            self._spark = None
            mem = os.environ.get("RISKSCORE_DUCKDB_MEMORY")
            if mem:
                self.con.raw_sql(f"SET memory_limit='{mem}'")
            tmp = os.environ.get("RISKSCORE_DUCKDB_TEMP")
            if tmp:
                self.con.raw_sql(f"SET temp_directory='{tmp}'")
            self.con.raw_sql("SET preserve_insertion_order=false")
        elif engine == "spark":
            self._spark = spark_session()
            self.con = ibis.pyspark.connect(self._spark)
        else:
            raise RiskscoreError(f"engine {engine!r} unknown; expected duckdb or spark")
        self._views: list[str] = []
        self._prefix = f"rs_{os.getpid()}_{id(self) % 100000}_"

    def register(self, name: str, df: pd.DataFrame):
        view = self._prefix + name
        if self.engine == "duckdb":
            # copy into DuckDB's native storage once (scanning pandas string columns
            # repeatedly is many times slower); Arrow is the zero-copy route in
            import pyarrow as pa

            arrow = pa.Table.from_pandas(df, preserve_index=False)
            self.con.con.register(view + "_arrow", arrow)
            self.con.con.execute(f'CREATE TEMP TABLE "{view}" AS SELECT * FROM "{view}_arrow"')
            self.con.con.unregister(view + "_arrow")
        else:
            sdf = _spark_frame(df)
            self._spark.createDataFrame(sdf, schema=_spark_schema(sdf)).createOrReplaceTempView(
                view
            )
        self._views.append(view)
        return self.con.table(view)

    def read_parquet(self, name: str, path: Path):
        view = self._prefix + name
        if self.engine == "duckdb":
            return self.con.read_parquet(str(path), table_name=view)
        self._spark.read.parquet(str(path)).createOrReplaceTempView(view)
        self._views.append(view)
        return self.con.table(view)

    def close(self):
        if self.engine == "spark":
            for v in self._views:
                self._spark.catalog.dropTempView(v)
        elif self._own:
            self.con.disconnect()


def _typed(name: str, t):
    """Cast the contract columns of an Ibis table to the types the indicators expect."""
    spec = TABLES.get(name)
    if spec is None:
        return t
    casts = {}
    for c in spec.columns:
        if c.name in t.columns:
            want = ibis.dtype(_IBIS_TYPE[c.dtype])
            if t[c.name].type().copy(nullable=True) != want.copy(nullable=True):
                casts[c.name] = t[c.name].cast(want)
    return t.mutate(**casts) if casts else t


def _load_tables(source, backend: _Backend, read_parquet_direct: bool) -> tuple[dict, Path | None]:
    if isinstance(source, dict):
        out = {}
        for name, df in source.items():
            if name not in USED_TABLES or df is None:
                continue
            if isinstance(df, ibis.expr.types.Table):  # already in the engine
                out[name] = _typed(name, df)
                continue
            if not isinstance(df, pd.DataFrame):
                raise RiskscoreError(
                    f"table {name}: expected a pandas DataFrame, got {type(df).__name__}"
                )
            out[name] = _typed(name, backend.register(name, _coerce_frame(name, df)))
        return out, None
    data_dir = Path(source)
    if not data_dir.is_dir():
        raise RiskscoreError(f"{data_dir}: data folder not found")
    if read_parquet_direct:
        out = {}
        for name in USED_TABLES:
            p = data_dir / f"{name}.parquet"
            if not p.exists() and (data_dir / name).is_dir():
                p = data_dir / name / "*.parquet"
            if p.exists() or "*" in str(p):
                out[name] = _typed(name, backend.read_parquet(name, p))
            else:  # small tables kept as CSV/XLSX: through the loader
                from riskscore.io import load_table

                df = load_table(data_dir, name)
                if df is not None:
                    out[name] = _typed(name, backend.register(name, _coerce_frame(name, df)))
        if "mdtrt_d" not in out:
            raise RiskscoreError(f"{data_dir}: mdtrt_d.parquet not found (read_parquet_direct)")
        return out, data_dir
    from riskscore.io import load_folder

    ds = load_folder(data_dir)
    out = {}
    for name in USED_TABLES:
        tab = ds.tables.get(name)
        if tab is None or tab.data is None:
            continue
        out[name] = _typed(name, backend.register(name, _coerce_frame(name, tab.data)))
    return out, data_dir


def _exposure(ctx: Context) -> pd.DataFrame:
    m = ctx.t["mdtrt_d"]
    enc = m.group_by("fixmedins_code").aggregate(n_encounters=_.count())
    parts = [enc]
    if ctx.has("fee_list_d", "fixmedins_code"):
        f = ctx.t["fee_list_d"]
        parts.append(
            f.group_by("fixmedins_code").aggregate(
                n_fee_lines=_.count(), fee_total=_.det_item_fee_sumamt.sum().cast("float64")
            )
        )
    acct = ctx.has("setl_d", "fixmedins_code", "fund_pay_sumamt", "acct_pay")
    if ctx.has("setl_d", "fixmedins_code", "fund_pay_sumamt"):
        s = ctx.t["setl_d"]
        # medical-insurance fund money = pooled fund (统筹) + personal account (个人账户):
        # pharmacies are paid mostly from personal accounts
        paid = s.fund_pay_sumamt.fill_null(0) + (s.acct_pay.fill_null(0) if acct else 0)
        parts.append(
            s.mutate(paid=paid)
            .group_by("fixmedins_code")
            .aggregate(fund_total=_.paid.sum().cast("float64"))
        )
    frames = [p.execute() for p in parts]
    out = frames[0]
    for f in frames[1:]:
        out = out.merge(f, on="fixmedins_code", how="outer")
    if "institutions" in ctx.t:
        inst = ctx.t["institutions"].select("fixmedins_code").execute()
        out = inst.merge(out, on="fixmedins_code", how="outer")
    for c in ("n_encounters", "n_fee_lines"):
        out[c] = out[c].fillna(0).astype("int64") if c in out else 0
    if "fund_total" in out:
        out["fund_paid"] = out["fund_total"].astype("float64")
        out["fund_paid_source"] = (
            "setl_d.fund_pay_sumamt+acct_pay" if acct else "setl_d.fund_pay_sumamt"
        )
    elif "fee_total" in out:
        out["fund_paid"] = out["fee_total"].astype("float64")
        out["fund_paid_source"] = "fee_list_d.det_item_fee_sumamt"
    else:
        out["fund_paid"] = float("nan")
        out["fund_paid_source"] = "none"
    out["fund_paid"] = out["fund_paid"].fillna(0.0)
    out["fixmedins_code"] = out["fixmedins_code"].astype("string")
    cols = ["fixmedins_code", "fund_paid", "n_encounters", "n_fee_lines", "fund_paid_source"]
    return out[cols].sort_values("fixmedins_code").reset_index(drop=True)


def _values_and_evidence(u, cap: int, one_query: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-institution sums and capped evidence of a unit table.

    With ``one_query`` (DuckDB) both come from one ``UNION ALL`` query: the unit table is a
    common subexpression that DuckDB computes once (materialised CTE) instead of twice — the
    joins and windows of the heavy indicators are not recomputed for the evidence. On Spark
    the two are separate queries.
    """
    if one_query:  # the shared unit table holds ids and details of flagged units only
        null_s = ibis.null().cast("string")
        u = u.select(
            "fixmedins_code",
            "num",
            "den",
            "flag",
            record_table=u.record_table.cast("string"),
            record_id=ibis.ifelse(u.flag, u.record_id.cast("string"), null_s),
            detail=ibis.ifelse(u.flag, u.detail.cast("string"), null_s),
        )
    vals = u.group_by("fixmedins_code").aggregate(numerator=_.num.sum(), denominator=_.den.sum())
    ev = u.filter(u.flag)
    ev = ev.mutate(
        _rn=ibis.row_number().over(
            ibis.window(group_by=ev.fixmedins_code, order_by=[ev.record_id, ev.detail])
        )
    )
    ev = ev.filter(ev._rn < cap).select("fixmedins_code", "record_table", "record_id", "detail")
    if not one_query:
        return vals.execute(), ev.execute()
    null_s = ibis.null().cast("string")
    null_f = ibis.null().cast("float64")
    both = vals.select(
        "fixmedins_code",
        numerator=vals.numerator.cast("float64"),
        denominator=vals.denominator.cast("float64"),
        record_table=null_s,
        record_id=null_s,
        detail=null_s,
        _part=ibis.literal(0),
    ).union(
        ev.select(
            "fixmedins_code",
            numerator=null_f,
            denominator=null_f,
            record_table=ev.record_table.cast("string"),
            record_id=ev.record_id.cast("string"),
            detail=ev.detail.cast("string"),
            _part=ibis.literal(1),
        ),
        distinct=False,
    )
    df = both.execute()
    is_val = df["_part"] == 0
    v = df.loc[is_val, ["fixmedins_code", "numerator", "denominator"]].reset_index(drop=True)
    e = df.loc[~is_val, ["fixmedins_code", "record_table", "record_id", "detail"]].reset_index(
        drop=True
    )
    return v, e


VALUE_COLS = ["fixmedins_code", "indicator_id", "family", "numerator", "denominator"]
EVIDENCE_COLS = ["fixmedins_code", "indicator_id", "family", "record_table", "record_id", "detail"]


def compute_indicators(
    data_dir_or_tables,
    engine: str = "duckdb",
    rules: dict | None = None,
    rules_dir: str | Path | None = None,
    progress: bool = True,
    only: list[str] | None = None,
    read_parquet_direct: bool = False,
) -> IndicatorResult:
    """Compute every risk indicator (风险指标) per institution.

    Parameters
    ----------
    data_dir_or_tables : path or dict
        A data folder (read through :func:`riskscore.io.load_folder`, accepted rows only) or
        ``{table_name: pandas.DataFrame}`` already loaded.
    engine : {"duckdb", "spark"}
        Ibis backend: embedded DuckDB (default) or local/cluster PySpark.
    rules : dict, optional
        Overrides of ``rules.yaml`` parameters.
    rules_dir : path, optional
        Folder of the NHSA 两库 tables; default ``DIR/nhsa_liangku_rules`` when present, else
        the packaged copy.
    progress : bool
        Show a progress bar on stderr.
    only : list of str, optional
        Compute only these indicator ids.
    read_parquet_direct : bool
        With a folder of ``<table>.parquet`` files already in contract form, read them
        out-of-core with the backend instead of through the loaders (benchmarks, big data).

    Returns
    -------
    IndicatorResult
    """
    from . import families  # noqa: F401  (registers the indicators)

    params = load_rules(rules)
    con = None
    if isinstance(data_dir_or_tables, dict):
        for t in data_dir_or_tables.values():
            if isinstance(t, ibis.expr.types.Table):
                con = t.get_backend()  # the load path's connection: claims never leave it
                break
    backend = _Backend(engine, con)
    try:
        tables, data_dir = _load_tables(data_dir_or_tables, backend, read_parquet_direct)
        from .platform import derive_tables

        tables = derive_tables(tables, params)
        if "mdtrt_d" not in tables:
            raise RiskscoreError(
                "mdtrt_d: required table absent; expected mdtrt_d.csv/.xlsx/.parquet"
            )
        if rules_dir is None:
            cand = data_dir / "nhsa_liangku_rules" if data_dir is not None else None
            rules_dir = cand if cand is not None and cand.is_dir() else NHSA_RULES_DIR
        lk_frames, notes = load_liangku(rules_dir, params)
        lk = {k: backend.register(k, v) for k, v in lk_frames.items()}
        ctx = Context(backend.con, engine, tables, params, lk)

        todo: list[Indicator] = [i for i in INDICATORS if only is None or i.id in only]
        if only:
            unknown = set(only) - {i.id for i in INDICATORS}
            if unknown:
                raise RiskscoreError(f"unknown indicator ids: {', '.join(sorted(unknown))}")
        cap = int(params["evidence_max_per_institution"])
        values, evidence, skipped, computed = [], [], [], []
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc="indicators", file=sys.stderr, leave=False)
        timings: dict[str, float] = {}
        for ind in todo:
            t_start = time.perf_counter()
            if bar is not None:
                bar.set_postfix_str(ind.id)
            why = ctx.missing(ind.needs)
            if why is None:
                try:
                    u = ind.compute(ctx)
                except Skip as s:
                    why = str(s)
            if why is not None:
                skipped.append((ind.id, why))
                if bar is not None:
                    bar.update()
                continue
            v, e = _values_and_evidence(u, cap, one_query=engine == "duckdb")
            v["indicator_id"] = ind.id
            v["family"] = ind.family
            values.append(v)
            e["indicator_id"] = ind.id
            e["family"] = ind.family
            evidence.append(e)
            computed.append(ind.id)
            timings[ind.id] = time.perf_counter() - t_start
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
        exposure = _exposure(ctx)
    finally:
        backend.close()

    vals = pd.concat(values, ignore_index=True) if values else pd.DataFrame(columns=VALUE_COLS)
    vals = vals[VALUE_COLS].astype(
        {"fixmedins_code": "string", "indicator_id": "string", "family": "string"}
    )
    vals["numerator"] = vals["numerator"].astype("float64").fillna(0.0)
    vals["denominator"] = vals["denominator"].astype("float64").fillna(0.0)
    vals = vals.sort_values(["indicator_id", "fixmedins_code"]).reset_index(drop=True)
    evid = (
        pd.concat(evidence, ignore_index=True) if evidence else pd.DataFrame(columns=EVIDENCE_COLS)
    )
    evid = evid[EVIDENCE_COLS].astype("string")
    evid = evid.sort_values(["indicator_id", "fixmedins_code", "record_id", "detail"]).reset_index(
        drop=True
    )
    return IndicatorResult(
        values=vals,
        evidence=evid,
        skipped=skipped,
        exposure=exposure,
        computed=computed,
        rules=params,
        notes=notes,
        timings=timings,
    )
