"""The engine load path: claims tables validated where they lie, inside DuckDB (or Spark).

``riskscore validate`` and ``riskscore score`` read the claims tables (:data:`ENGINE_TABLES`)
with the engine itself — Parquet files, CSV in UTF-8/BOM or GB18030/GBK (transcoded once,
streaming, into a cache keyed by the file's SHA-256), several files per table
(``fee_list_d/*.csv``, ``fee_list_d_202501.csv`` …, Hive ``year=/month=`` folders) — and
check them with engine queries built from :mod:`riskscore.io.checks`. The registries and other
small tables go through the pandas loaders (:func:`riskscore.io.load_one`).

Same reasons and counts as the pandas loaders (``read == accepted + quarantined``); the
quarantine is written as Parquet (``<dir>/<table>.parquet``: ``source_row``, ``source_file``,
the cells, ``reason``). No step holds a whole claims table in Python: DuckDB works in a
database file in the spill folder with a memory limit, spilling to disk beyond it.

Usage::

    from riskscore.io.engine import EngineSession, load_folder_engine

    with EngineSession(memory="4GB", spill_dir="/tmp/rs") as es:
        ds = load_folder_engine("DATA", es, quarantine_dir="Q")
        ds.report()                      # as riskscore.io.Dataset.report()
        ds.ibis_tables()                 # name → Ibis table of accepted rows (claims in the engine)
        ds.frame("institutions")         # small tables as pandas
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskscore.contract import TABLES, TableSpec
from riskscore.errors import ContractError, RiskscoreError
from riskscore.io._files import (
    DEFAULT_BATCH_ROWS,
    FORMATS,
    _read_excel,
    _short,
    _suffix,
    read_header,
)
from riskscore.io._load import (
    REFERENCES,
    SOURCE_ROW_COLUMN,
    TableResult,
    header_map,
    known_names,
    load_one,
    reason_column,
)
from riskscore.io._normalize import normalize_codes
from riskscore.io._platform import table_stem
from riskscore.io.checks import (
    DIALECTS,
    Cell,
    Dialect,
    checks_for,
    code_like_sql,
    lookup_sql,
    lost_sql,
    text_level,
    value_level,
)
from riskscore.io.dictionaries import usage_report

ENGINE_TABLES: tuple[str, ...] = tuple(
    n for n, t in TABLES.items() if t.group in ("claims", "procurement", "inventory")
)
"""Tables read and validated by the engine (claims, procurement and inventory: the tables that
grow with the extract); the registries and other small tables stay pandas."""

SOURCE_FILE_COLUMN = "source_file"
"""Quarantine column: the file a row was read from (several files per table)."""

_PART_FORMATS = (".csv", ".csv.gz", ".parquet")


# ----------------------------------------------------------------------------- memory
def total_memory_bytes() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


DEFAULT_MEMORY_SHARE = 0.25
"""Default ``--memory``: this share of the machine's RAM (at least 1 GB) for the engine. The
database is in memory and spills beyond the limit, so the limit is close to what the process
may hold. A tenth (2.4 GB on 24 GB) keeps ``score`` at 10 million fee lines under 3 GB but
ran out of memory at 100 million (an operator that cannot spill): a quarter is the default
that runs a year of a province; ``--memory 2GB`` bounds smaller runs."""


def default_memory() -> str:
    """The default engine memory limit, e.g. ``"6GB"`` on a 24 GB machine."""
    gb = max(1.0, total_memory_bytes() * DEFAULT_MEMORY_SHARE / (1 << 30))
    return f"{gb:.1f}GB"


def parse_memory(text: str) -> str:
    """Validate a memory size (``"4GB"``, ``"512MB"``, ``"50%"``) into DuckDB's form."""
    s = str(text).strip().upper().replace(" ", "")
    if s.endswith("%"):
        try:
            share = float(s[:-1]) / 100
        except ValueError:
            share = -1
        if not 0 < share <= 1:
            raise RiskscoreError(f"--memory {text!r}: expected a size like 4GB or a share like 30%")
        return f"{max(0.1, total_memory_bytes() * share / (1 << 30)):.1f}GB"
    import re

    m = re.fullmatch(r"(\d+(?:\.\d+)?)(B|KB|MB|GB|TB|K|M|G|T|KIB|MIB|GIB|TIB)?", s)
    if not m:
        raise RiskscoreError(f"--memory {text!r}: expected a size like 4GB, 512MB or 30%")
    unit = (m.group(2) or "GB").replace("IB", "B")
    unit = unit if unit.endswith("B") else unit + "B"
    return f"{m.group(1)}{unit}"


# ----------------------------------------------------------------------------- files
@dataclass
class Sources:
    """Files per table in a data folder."""

    root: Path
    files: dict[str, list[Path]]  # table → files (engine tables may have several)
    extra: list[str]

    def label(self, name: str) -> str:
        fs = self.files[name]
        if len(fs) == 1:
            return fs[0].name
        return f"{len(fs)} files ({fs[0].relative_to(self.root)} …)"


def _table_for(stem: str, names: list[str], multi: set[str]) -> str | None:
    low = stem.lower()
    for n in sorted(names, key=len, reverse=True):
        if low == n:
            return n
        if n in multi and low.startswith(n + "_") and len(low) > len(n) + 1:
            return n
    return None


def _part_files(folder: Path) -> list[Path]:
    out = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if any(x.startswith((".", "_", "~$")) for x in rel):
            continue
        if p.is_file() and _suffix(p) in _PART_FORMATS:
            out.append(p)
    return out


def scan_sources(data_dir: Path) -> Sources:
    """Find every table's files; claims tables may have several (same format).

    ``<table>.<fmt>``, ``<table>_<anything>.<fmt>`` (claims only, e.g. ``fee_list_d_202501.csv``)
    and a folder ``<table>/`` or ``<table>.parquet/`` of parts (searched recursively, so Hive
    ``year=2025/month=01/`` folders work).

    Raises
    ------
    ContractError
        Missing folder; a small table in two files; a claims table in two formats.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ContractError(f"{data_dir}: data folder not found; expected a directory of tables")
    names = list(TABLES)
    multi = set(ENGINE_TABLES)
    files: dict[str, list[Path]] = {}
    entries: dict[str, list[Path]] = {}
    extra: list[str] = []
    for entry in sorted(data_dir.iterdir()):
        if entry.name.startswith((".", "~$")):
            continue
        fmt = _suffix(entry)
        if entry.is_dir():
            stem = entry.name[: -len(fmt)] if fmt == ".parquet" else entry.name
            name = _table_for(stem, names, multi) if (fmt in (None, ".parquet")) else None
            if name is not None and stem.lower() == name and (name in multi or fmt):
                parts = _part_files(entry)
                if parts:
                    entries.setdefault(name, []).append(entry)
                    files.setdefault(name, []).extend(parts)
                    continue
            extra.append(entry.name + "/")
            continue
        if fmt is None:
            extra.append(entry.name)
            continue
        stem = table_stem(entry.name[: -len(fmt)])  # fixmedins_b → institutions
        name = _table_for(stem, names, multi)
        if name is None or (name not in multi and stem.lower() != name):
            extra.append(entry.name)
            continue
        entries.setdefault(name, []).append(entry)
        files.setdefault(name, []).append(entry)
    for name, ents in entries.items():
        fmts = {_fmt_kind(p) for p in files[name]}
        if (name not in multi and len(ents) > 1) or len(fmts) > 1:
            listed = ", ".join(p.name for p in ents)
            raise ContractError(
                f"{data_dir}: table '{name}' is present in {len(ents)} files ({listed}); "
                "expected exactly one of "
                + ", ".join(f"{name}{f}" for f in FORMATS)
                + (" (or several files of one format)" if name in multi else "")
            )
    return Sources(root=data_dir, files=files, extra=extra)


def _fmt_kind(p: Path) -> str:
    fmt = _suffix(p) or ""
    return "csv" if fmt.startswith(".csv") else fmt.lstrip(".")


# ----------------------------------------------------------------------------- transcoding
def cache_dir() -> Path:
    """Where transcoded CSV files are kept (``RISKSCORE_CACHE`` or ``~/.cache/riskscore``)."""
    base = os.environ.get("RISKSCORE_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "riskscore"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def utf8_copy(path: Path, encoding: str) -> Path:
    """A UTF-8 copy of a CSV file, transcoded once (streaming) into the cache.

    Keyed by the file's SHA-256, so an edited file is transcoded again and an unchanged one
    never is.
    """
    import codecs
    import gzip

    target = cache_dir() / "csv-utf8" / f"{file_sha256(path)}.csv"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with opener(path, "rb") as src, open(tmp, "w", encoding="utf-8", newline="") as dst:
            while block := src.read(1 << 22):
                dst.write(dec.decode(block))
            dst.write(dec.decode(b"", final=True))
        os.replace(tmp, target)
    except UnicodeDecodeError as exc:
        tmp.unlink(missing_ok=True)
        raise ContractError(f"{path}: not valid {encoding} ({exc.reason})") from None
    return target


# ----------------------------------------------------------------------------- session
class EngineSession:
    """An engine connection for loading and computing (DuckDB or Spark).

    Parameters
    ----------
    engine : {"duckdb", "spark"}
    memory : str, optional
        DuckDB memory limit (``"4GB"``); default :func:`default_memory`. For Spark, the
        driver/executor memory of a local session.
    spill_dir : path, optional
        Folder for the engine's spill files (DuckDB's in-memory database moves what exceeds
        ``memory`` there); default a temporary folder removed
        at :meth:`close`. A given folder is kept (only riskscore's files in it are removed).
    spark_master : str, optional
        Spark master URL (``spark://host:7077``); default ``RISKSCORE_SPARK_MASTER`` or
        ``local[2]``.
    threads : int, optional
        DuckDB threads (default: all cores).
    """

    def __init__(
        self,
        engine: str = "duckdb",
        memory: str | None = None,
        spill_dir: str | Path | None = None,
        spark_master: str | None = None,
        threads: int | None = None,
    ):
        if engine not in ("duckdb", "spark"):
            raise RiskscoreError(f"engine {engine!r} unknown; expected duckdb or spark")
        self.engine = engine
        self.memory = parse_memory(memory) if memory else default_memory()
        self._own_spill = spill_dir is None
        if spill_dir is None:
            self.spill_dir = Path(tempfile.mkdtemp(prefix="riskscore-engine-"))
        else:
            self.spill_dir = Path(spill_dir) / f"riskscore-engine-{os.getpid()}"
            try:
                self.spill_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RiskscoreError(
                    f"{spill_dir}: cannot create the spill folder ({exc.strerror}); "
                    "expected a writable folder"
                ) from None
        self.dialect: Dialect = DIALECTS[engine]
        self._n = 0
        if engine == "duckdb":
            import ibis

            # an in-memory database that spills to the folder beyond ``memory``: tables are
            # not compressed and checkpointed to a file (2–3× faster to build at 10M rows)
            self.ibis = ibis.duckdb.connect()
            self.con = self.ibis.con
            self.con.execute(f"SET memory_limit='{self.memory}'")
            self.con.execute(f"SET temp_directory='{self.spill_dir / 'spill'}'")
            self.con.execute("SET preserve_insertion_order=false")
            if threads:
                self.con.execute(f"SET threads={int(threads)}")
            self.spark = None
        else:
            from riskscore.indicators.engine import spark_session

            self.spark = spark_session(spark_master, memory=self.memory)
            import ibis

            self.ibis = ibis.pyspark.connect(self.spark)
            self.con = None
        self._views: list[str] = []

    def name(self, base: str) -> str:
        self._n += 1
        return f"rs_{base}_{self._n}"

    def sql(self, query: str):
        """Run SQL; DuckDB returns its relation/cursor, Spark a DataFrame."""
        if self.engine == "duckdb":
            return self.con.execute(query)
        return self.spark.sql(query)

    def rows(self, query: str) -> list[tuple]:
        if self.engine == "duckdb":
            return self.con.execute(query).fetchall()
        return [tuple(r) for r in self.spark.sql(query).collect()]

    def create(self, name: str, query: str) -> None:
        """Materialise a query as a table (DuckDB) or a cached temp view (Spark)."""
        if self.engine == "duckdb":
            self.con.execute(f"CREATE OR REPLACE TABLE {self.dialect.ident(name)} AS {query}")
        else:
            from riskscore.io.spark import materialize

            materialize(self.spark.sql(query)).createOrReplaceTempView(name)
            self._views.append(name)

    def register_frame(self, name: str, df: pd.DataFrame) -> None:
        if self.engine == "duckdb":
            import pyarrow as pa

            arrow = pa.Table.from_pandas(df, preserve_index=False)
            self.con.register(name + "_arrow", arrow)
            self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "{name}_arrow"')
            self.con.unregister(name + "_arrow")
        else:
            from riskscore.indicators.engine import _spark_frame, _spark_schema

            sdf = _spark_frame(df)
            self.spark.createDataFrame(sdf, schema=_spark_schema(sdf)).createOrReplaceTempView(name)
            self._views.append(name)

    def close(self) -> None:
        if self.engine == "duckdb":
            try:
                self.ibis.disconnect()
            except Exception:  # pragma: no cover - already closed
                pass
        else:
            for v in self._views:
                try:
                    self.spark.catalog.dropTempView(v)
                except Exception:  # pragma: no cover
                    pass
        shutil.rmtree(self.spill_dir, ignore_errors=True)

    def __enter__(self) -> EngineSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- tables
@dataclass
class EngineTable:
    """A claims table loaded into the engine (accepted rows stay there).

    ``view`` is the engine table/view of the accepted rows (contract columns, contract
    types); ``stage`` holds every row with ``_file``, ``_row`` and ``_reasons``;
    ``quarantined_table`` the quarantined rows with the file's text of each column
    (``_q_<column>``).
    """

    name: str
    spec: TableSpec
    paths: list[Path]
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int]
    missing_columns: list[str]
    extra_columns: list[str]
    skipped_checks: list[str]
    info: dict
    stage: str
    view: str
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    mapped: dict = field(default_factory=dict)
    quarantined_table: str = ""
    typed_columns: list[str] | None = None

    @property
    def path(self) -> Path:
        return self.paths[0]

    def counts(self) -> dict:
        return {
            "read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
        }


def _src_kind(engine_type: str) -> str:
    t = engine_type.upper()
    if t in ("VARCHAR", "STRING") or t.startswith("VARCHAR"):
        return "text"
    if t.startswith(("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        return "number"
    if t.startswith(
        (
            "BIGINT",
            "INTEGER",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
            "UBIGINT",
            "UINTEGER",
            "USMALLINT",
            "UTINYINT",
            "INT",
            "LONG",
            "SHORT",
            "BYTE",
        )
    ):
        return "integer"
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return "timestamptz"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "DATE":
        return "date"
    return "other"


@dataclass
class _Group:
    """Files of one table read by one engine scan (same format and header)."""

    files: list[Path]
    first_index: int
    header: list[str]
    info: dict
    reader: str = ""  # SQL FROM-item yielding _file, _row and the file columns
    types: dict[str, str] = field(default_factory=dict)


def _duck_csv(path: Path, header: list[str], sep: str, quote: str = '"') -> str:
    cols = "{" + ", ".join(f"{_lit(h)}: 'VARCHAR'" for h in header) + "}"
    return (
        f"read_csv({_lit(str(path))}, header=true, auto_detect=false, columns={cols}, "
        f"delim={_lit(sep)}, quote={_lit(quote)}, escape={_lit(quote)}, strict_mode=true, "
        "null_padding=false, parallel=true)"
    )


def _lit(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


class _Loader:
    def __init__(self, es: EngineSession, sources: Sources, dicts=None):
        from riskscore.io.dictionaries import default_dictionaries

        self.es = es
        self.d = es.dialect
        self.sources = sources
        self.dicts = dicts or default_dictionaries()

    def lookup(self, spec: TableSpec, col) -> dict[str, str]:
        """Dictionary variants → contract codes for a column (empty when none applies)."""
        dic = self.dicts.for_column(spec.name, col.name)
        return dict(dic.lookup) if dic is not None else {}

    def ignored(self, spec: TableSpec, g: _Group, mapping: dict[str, str]) -> list[str]:
        """File columns not read: a leading row-number column and platform fields."""
        from riskscore.io._load import ROW_NUMBER
        from riskscore.layouts import PLATFORM_FIELDS

        platform = set(PLATFORM_FIELDS.get(spec.name, ()))
        return [
            h
            for h in g.header
            if mapping[h] == ROW_NUMBER
            or (mapping[h] not in spec.column_names and mapping[h] in platform)
        ]

    # -------------------------------------------------------------- reading
    def groups(self, spec: TableSpec, files: list[Path]) -> list[_Group]:
        known = known_names(spec)
        groups: list[_Group] = []
        for k, path in enumerate(files):
            header, info = read_header(path, known)
            key = (info.get("format"), tuple(header), info.get("sep"))
            kind = _fmt_kind(path)
            if (
                groups
                and kind == "parquet"
                and _fmt_kind(groups[-1].files[0]) == "parquet"
                and (groups[-1].info.get("format"), tuple(groups[-1].header), None) == key
            ):
                groups[-1].files.append(path)
                continue
            groups.append(_Group(files=[path], first_index=k, header=header, info=info))
        for g in groups:
            g.reader = self._reader(spec, g)
        return groups

    def _reader(self, spec: TableSpec, g: _Group) -> str:
        es, d = self.es, self.d
        kind = _fmt_kind(g.files[0])
        cols = ", ".join(d.ident(h) for h in g.header)
        if es.engine == "duckdb":
            if kind == "parquet":
                paths = "[" + ", ".join(_lit(str(p)) for p in g.files) + "]"
                src = (
                    f"read_parquet({paths}, filename=true, file_row_number=true, "
                    "hive_partitioning=false, union_by_name=true)"
                )
                desc = es.con.execute(f"DESCRIBE SELECT {cols} FROM {src}").fetchall()
                g.types = {r[0]: _src_kind(r[1]) for r in desc}
                return (
                    f"(SELECT CAST(list_position({paths}, filename) - 1 + {g.first_index} "
                    f"AS INTEGER) AS _file, file_row_number + 1 AS _row, {cols} FROM {src})"
                )
            if kind == "csv":
                path = g.files[0]
                enc = g.info["encoding"]
                if enc != "utf-8-sig":
                    path = utf8_copy(path, enc)
                src = _duck_csv(
                    path, g.header, g.info.get("sep", ","), g.info.get("quotechar", '"')
                )
                g.types = {h: "text" for h in g.header}
                return (
                    f"(SELECT CAST({g.first_index} AS INTEGER) AS _file, "
                    f"row_number() OVER () AS _row, {cols} FROM {src})"
                )
            return self._xlsx(spec, g)
        # spark
        if kind == "parquet":
            df = es.spark.read.option("mergeSchema", "true").parquet(*[str(p) for p in g.files])
        elif kind == "csv":
            paths = []
            for p in g.files:
                enc = g.info["encoding"]
                paths.append(
                    str(utf8_copy(p, enc) if enc != "utf-8-sig" or _suffix(p) == ".csv.gz" else p)
                )
            df = (
                es.spark.read.option("header", "true")
                .option("sep", g.info.get("sep", ","))
                .option("quote", g.info.get("quotechar", '"'))
                .option("escape", g.info.get("quotechar", '"'))
                .option("multiLine", "true")
                .option("mode", "FAILFAST")
                .option("encoding", "UTF-8")
                .schema(", ".join(f"`{h}` STRING" for h in g.header))
                .csv(paths)
            )
        else:
            return self._xlsx(spec, g)
        from pyspark.sql import functions as F

        df = df.select(
            *[F.col(f"`{h}`") for h in g.header],
            F.input_file_name().alias("_fname"),
            F.monotonically_increasing_id().alias("_row"),
        )
        view = es.name(spec.name + "_src")
        df.createOrReplaceTempView(view)
        es._views.append(view)
        g.types = {h: _src_kind(t) for h, t in df.dtypes if h in g.header}
        names = [p.resolve().as_uri() for p in g.files]
        case = " ".join(
            f"WHEN _fname = {_lit(u)} THEN {g.first_index + i}" for i, u in enumerate(names)
        )
        fidx = f"CAST(CASE {case} ELSE {g.first_index} END AS INT)"
        return f"(SELECT {fidx} AS _file, _row, {cols} FROM {d.ident(view)})"

    def _xlsx(self, spec: TableSpec, g: _Group) -> str:
        from riskscore.io._normalize import to_text

        df = _read_excel(g.files[0], known_names(spec))
        frame = pd.DataFrame({c: to_text(df[c]).astype(object) for c in df.columns})
        frame.insert(0, "_row", range(1, len(frame) + 1))
        frame.insert(0, "_file", g.first_index)
        frame["_row"] = frame["_row"].astype("int64")
        name = self.es.name(spec.name + "_xlsx")
        self.es.register_frame(name, frame)
        g.types = {h: "text" for h in g.header}
        cols = ", ".join(self.d.ident(h) for h in g.header)
        return f"(SELECT _file, _row, {cols} FROM {self.d.ident(name)})"

    # -------------------------------------------------------------- typing and checks
    def _source(self, g: _Group, src: str) -> tuple[str, str]:
        """(SQL, kind) of a file column as read: time-zoned timestamps in Beijing time."""
        kind = g.types.get(src, "text")
        raw = self.d.ident(src)
        if kind == "timestamptz":
            if self.d.name == "duckdb":
                raw = f"timezone('Asia/Shanghai', {raw})"
            kind = "timestamp"
        return raw, kind

    def group_sql(
        self,
        spec: TableSpec,
        g: _Group,
        mapping: dict[str, str],
        order: list[str],
        extras: list[str],
        narrow: bool = False,
        keep: set[str] | None = None,
    ) -> str:
        """SQL of one file group's stage rows: ``_file, _row``, the typed contract columns,
        ``_reasons`` and the dictionary columns ``_m_*``. Unless ``narrow``, also the text
        of every file column for quarantined rows (``_q_*``); with ``narrow`` that text is
        computed afterwards for the quarantined rows only (:meth:`text_sql`). ``keep``: the
        typed columns kept (default all; the checks still see every column)."""
        d = self.d
        by_target = {mapping[h]: h for h in g.header if h not in self.ignored(spec, g, mapping)}
        l1, l2, l2b, l3, l4 = [], [], [], [], []
        lazy: dict[str, str] = {}
        lost: dict[str, str | None] = {}
        unmapped: dict[str, str] = {}
        mapped: list[str] = []
        present = []
        for c in spec.columns:
            src = by_target.get(c.name)
            if src is None:
                continue
            present.append(c.name)
            raw, kind = self._source(g, src)
            l1.append(f"{raw} AS {d.ident('_r_' + c.name)}")
            if kind == "text":
                l1.append(f"{text_level(spec, c, raw, kind, d)} AS {d.ident('_t_' + c.name)}")
            else:  # typed: the text is only needed for quarantined rows (computed lazily)
                lazy[c.name] = text_level(spec, c, d.ident("_r_" + c.name), kind, d)
            t_ref = d.ident("_t_" + c.name)
            lookup = self.lookup(spec, c)
            if lookup and c.dtype != "code" and kind == "text":
                # dictionaries on non-code columns map the text before parsing
                t_ref = f"COALESCE({lookup_sql(t_ref, lookup)}, {t_ref})"
            v, bad = value_level(c, d.ident("_r_" + c.name), t_ref, kind, d)
            if c.dtype == "code":
                t_lost = lazy.get(c.name) or d.ident("_t_" + c.name)
                lost[c.name] = lost_sql(t_lost, d.ident("_r_" + c.name), kind, d) or None
                if lookup:
                    pre = d.ident("_p_" + c.name)
                    l2.append(f"{v} AS {pre}")
                    hit = lookup_sql(pre, lookup)
                    l2b.append(f"COALESCE({hit}, {pre}) AS {d.ident('_v_' + c.name)}")
                    l2b.append(
                        f"CASE WHEN {hit} <> {pre} THEN {pre} END AS {d.ident('_m_' + c.name)}"
                    )
                    mapped.append(c.name)
                    if not c.allowed and self.dicts.for_column(spec.name, c.name).open:
                        v_ref = d.ident("_v_" + c.name)
                        unmapped[c.name] = f"NOT {code_like_sql(v_ref, d)}"
                else:
                    l2.append(f"{v} AS {d.ident('_v_' + c.name)}")
            else:
                l2.append(f"{v} AS {d.ident('_v_' + c.name)}")
            l2.append(f"{bad or 'FALSE'} AS {d.ident('_b_' + c.name)}")
        for e in [] if narrow else extras:
            src = by_target.get(e)
            raw = d.ident(src) if src is not None else "NULL"
            kind = g.types.get(src, "text") if src is not None else "text"
            from riskscore.contract import ColumnSpec

            col = ColumnSpec(e, "str", e)
            l1.append(f"{text_level(spec, col, raw, kind, d)} AS {d.ident('_t_' + e)}")
        # typed value of every contract column (NULL when absent)
        typed = {
            c.name: (
                d.ident("_v_" + c.name)
                if c.name in present
                else f"CAST(NULL AS {_sql_type(c.dtype, d)})"
            )
            for c in spec.columns
        }
        parts = []
        for chk in checks_for(spec):
            if chk.column is not None and chk.column not in present:
                continue
            col = spec.column(chk.column) if chk.column else spec.columns[0]
            cell = Cell(
                spec=col,
                table=spec,
                d=d,
                v=typed[col.name],
                t=(lazy.get(col.name) or d.ident("_t_" + col.name))
                if col.name in present
                else "NULL",
                bad=d.ident("_b_" + col.name) if col.name in present else None,
                cols=typed,
                lost=lost.get(col.name),
                unmapped=unmapped.get(col.name),
            )
            pred = chk.predicate(cell)
            if not pred:
                continue
            parts.append(f"CASE WHEN {pred} THEN {_lit(chk.reason)} END")
        l3 = [f"{d.concat_reasons(parts)} AS _reasons"]
        out_cols = []
        for c in spec.columns:
            if keep is None or c.name in keep:
                out_cols.append(f"{typed[c.name]} AS {d.ident(c.name)}")
        for name in [] if narrow else order:
            here = name in present or (name in extras and name in by_target)
            t_ref = d.ident("_t_" + name) if here else f"CAST(NULL AS {d.string_type()})"
            t_ref = lazy.get(name, t_ref)
            l4.append(f"CASE WHEN _reasons IS NOT NULL THEN {t_ref} END AS {d.ident('_q_' + name)}")
        for c in spec.columns:
            if c.dtype == "code" and self.lookup(spec, c):
                m = (
                    d.ident("_m_" + c.name)
                    if c.name in mapped
                    else f"CAST(NULL AS {d.string_type()})"
                )
                l4.append(f"{m} AS {d.ident('_m_' + c.name)}")
        lvl1 = ", ".join(["_file", "_row", *l1])
        lvl2 = ", ".join(["*", *l2]) if l2 else "*"

        lvl3 = ", ".join(["*", *l3])
        final = ", ".join(["_file", "_row", *out_cols, "_reasons", *l4])
        inner = f"(SELECT {lvl1} FROM {g.reader} AS s0)"
        lv2 = f"(SELECT {lvl2} FROM {inner} AS s1)"
        if l2b:
            lv2 = f"(SELECT {', '.join(['*', *l2b])} FROM {lv2} AS s1b)"
        return f"SELECT {final} FROM (SELECT {lvl3} FROM {lv2} AS s2) AS s3"

    def text_sql(
        self, spec: TableSpec, g: _Group, mapping: dict[str, str], order: list[str], flagged: str
    ) -> str:
        """SQL of the file text (``_q_*``, as the quarantine shows it) of one group's rows
        listed in the table ``flagged`` (``_file, _row``): the source is read again and
        only those rows are normalised."""
        from riskscore.contract import ColumnSpec

        d = self.d
        by_target = {mapping[h]: h for h in g.header if h not in self.ignored(spec, g, mapping)}
        cols = []
        for name in order:
            src = by_target.get(name)
            if src is None:
                cols.append(f"CAST(NULL AS {d.string_type()}) AS {d.ident('_q_' + name)}")
                continue
            raw, kind = self._source(g, src)
            col = spec.column(name) if name in spec.column_names else ColumnSpec(name, "str", name)
            cols.append(f"{text_level(spec, col, raw, kind, d)} AS {d.ident('_q_' + name)}")
        return (
            f"SELECT s0._file, s0._row, {', '.join(cols)} FROM {g.reader} AS s0 "
            f"SEMI JOIN {d.ident(flagged)} AS f ON s0._file = f._file AND s0._row = f._row"
        )

    def quarantine_text(
        self, spec: TableSpec, groups, mappings, order: list[str], stage: str, n: int
    ) -> str:
        """Table of the quarantined rows: the stage's columns and the file text ``_q_*``."""
        d, es = self.d, self.es
        st = d.ident(stage)
        qtab = es.name(spec.name + "_quarantined")
        if not n:
            nulls = ", ".join(
                f"CAST(NULL AS {d.string_type()}) AS {d.ident('_q_' + c)}" for c in order
            )
            es.create(qtab, f"SELECT *, {nulls} FROM {st} WHERE FALSE")
            return qtab
        flagged = es.name(spec.name + "_flagged")
        es.create(flagged, f"SELECT _file, _row FROM {st} WHERE _reasons IS NOT NULL")
        texts = " UNION ALL ".join(
            self.text_sql(spec, g, m, order, flagged) for g, m in zip(groups, mappings, strict=True)
        )
        qcols = ", ".join(f"q.{d.ident('_q_' + c)}" for c in order)
        es.create(
            qtab,
            f"SELECT s.*, {qcols} FROM {st} AS s JOIN ({texts}) AS q "
            "ON s._file = q._file AND s._row = q._row WHERE s._reasons IS NOT NULL",
        )
        es.sql(f"DROP TABLE {d.ident(flagged)}")
        return qtab

    # -------------------------------------------------------------- the table
    def checked_columns(self, spec: TableSpec) -> set[str]:
        """Typed columns the checks after the row checks read: keys, references, columns
        other tables reference, id columns (lost precision) and dictionary columns."""
        from riskscore.io._load import REFERENCES, _is_key_column

        keep = set(spec.key) | {col for col, *_ in REFERENCES.get(spec.name, ())}
        keep |= {rc for refs in REFERENCES.values() for _, rt, rc, _ in refs if rt == spec.name}
        for c in spec.columns:
            if _is_key_column(spec, c) or (c.dtype == "code" and self.lookup(spec, c)):
                keep.add(c.name)
        return keep

    def load(
        self,
        spec: TableSpec,
        files: list[Path],
        refs: dict[str, tuple[str, str]],
        skipped: list[str],
        keep_data: bool = True,
    ) -> EngineTable:
        """Read, type and check one table into the engine.

        Without ``keep_data`` (``validate`` without ``--clean-out``) the stage keeps only the
        typed columns of :meth:`checked_columns` — the accepted rows' view has only those."""
        d, es = self.d, self.es
        keep = None if keep_data else self.checked_columns(spec)
        groups = self.groups(spec, files)
        mappings = []
        for g in groups:
            mappings.append(header_map(spec, g.header, g.files[0]))
        # file columns in first-seen order (contract names), for the quarantine
        order: list[str] = []
        ignored: list[str] = []
        for g, m in zip(groups, mappings, strict=True):
            skip = self.ignored(spec, g, m)
            for h in g.header:
                if h in skip:
                    from riskscore.io._load import ROW_NUMBER

                    label = m[h] if m[h] != ROW_NUMBER else str(h)
                    if label not in ignored:
                        ignored.append(label)
                elif m[h] not in order:
                    order.append(m[h])
        extras = [c for c in order if c not in spec.column_names]
        present = set(order)
        # DuckDB: a narrow stage (typed columns and reasons); the file text of quarantined
        # rows is read again for those rows only. Spark keeps it in the stage (its row ids
        # are not stable between two reads).
        narrow = es.engine == "duckdb"
        selects = []
        for g, m in zip(groups, mappings, strict=True):
            # every group yields the same columns (absent file columns → NULL text)
            selects.append(self.group_sql(spec, g, m, order, extras, narrow=narrow, keep=keep))
        stage = es.name(spec.name + "_stage")
        try:
            es.create(stage, " UNION ALL ".join(selects))
        except ContractError:
            raise
        except Exception as exc:
            if type(exc).__name__ == "OutOfMemoryException":
                raise  # not the file's fault: the CLI asks for a larger --memory
            raise ContractError(
                f"{self.sources.label(spec.name)}: unreadable {spec.name} ({_short(exc)})"
            ) from None
        extra_reasons = self._key_and_ref_checks(spec, stage, refs)
        if extra_reasons:
            self._apply(stage, extra_reasons)
        view = es.name(spec.name)
        cols = ", ".join(d.ident(c.name) for c in spec.columns if keep is None or c.name in keep)
        if es.engine == "duckdb":
            es.sql(
                f"CREATE OR REPLACE VIEW {d.ident(view)} AS SELECT {cols} FROM "
                f"{d.ident(stage)} WHERE _reasons IS NULL"
            )
        else:
            es.spark.sql(
                f"SELECT {cols} FROM {d.ident(stage)} WHERE _reasons IS NULL"
            ).createOrReplaceTempView(view)
            es._views.append(view)
        counts: Counter = Counter()
        total = accepted = 0
        for reasons, n in es.rows(
            f"SELECT _reasons, count(*) FROM {d.ident(stage)} GROUP BY _reasons"
        ):
            total += int(n)
            if reasons is None:
                accepted += int(n)
            else:
                for code in dict.fromkeys(str(reasons).split(";")):
                    counts[code] += int(n)
        quarantined = (
            self.quarantine_text(spec, groups, mappings, order, stage, total - accepted)
            if narrow
            else stage
        )
        self._refuse_lost_keys(spec, stage, quarantined, counts, files)
        mapped: Counter = Counter()
        for c in spec.columns:
            if c.dtype == "code" and self.lookup(spec, c):
                m = d.ident("_m_" + c.name)
                for raw, code, n in es.rows(
                    f"SELECT {m}, {d.ident(c.name)}, count(*) FROM {d.ident(stage)} "
                    f"WHERE {m} IS NOT NULL GROUP BY ALL"
                    if es.engine == "duckdb"
                    else f"SELECT {m}, {d.ident(c.name)}, count(*) FROM {d.ident(stage)} "
                    f"WHERE {m} IS NOT NULL GROUP BY 1, 2"
                ):
                    mapped[(c.name, str(raw), str(code))] += int(n)
        g0 = groups[0]
        info = {k: v for k, v in g0.info.items() if k != "known"}
        if len(files) > 1:
            info["files"] = len(files)
        return EngineTable(
            name=spec.name,
            spec=spec,
            paths=list(files),
            read=total,
            accepted=accepted,
            quarantined=total - accepted,
            reasons=dict(counts),
            missing_columns=[c.name for c in spec.columns if c.name not in present],
            extra_columns=extras,
            skipped_checks=list(skipped),
            info=info,
            stage=stage,
            quarantined_table=quarantined,
            typed_columns=[c.name for c in spec.columns if keep is None or c.name in keep],
            view=view,
            columns=order,
            ignored_columns=ignored,
            mapped=usage_report(mapped),
        )

    def _refuse_lost_keys(
        self, spec: TableSpec, stage: str, quarantined: str, counts: Counter, files
    ) -> None:
        """A key column where most ids lost digits is refused as a whole (as the loaders)."""
        from riskscore.io._load import KEY_PRECISION_SHARE, _is_key_column

        d = self.d
        for c in spec.columns:
            n = counts.get(f"code_precision_lost:{c.name}", 0)
            if not n or not _is_key_column(spec, c):
                continue
            col, q = d.ident(c.name), d.ident("_q_" + c.name)
            present = (
                self.es.rows(f"SELECT count({col}) FROM {d.ident(stage)}")[0][0]
                + self.es.rows(
                    f"SELECT count({q}) FROM {d.ident(quarantined)} WHERE {col} IS NULL "
                    "AND _reasons IS NOT NULL"
                )[0][0]
            )
            if present and n > KEY_PRECISION_SHARE * present:
                example = self.es.rows(
                    f"SELECT {q} FROM {d.ident(quarantined)} WHERE _reasons LIKE "
                    f"'%code_precision_lost:{c.name}%' LIMIT 1"
                )[0][0]
                raise ContractError(
                    f"{Path(files[0]).name}: column '{c.name}' ({c.zh}) lost precision in {n} "
                    f"of {present} rows (e.g. '{example}': an id saved from Excel as a number); "
                    "expected ids as text — re-export the file from the platform as CSV, or "
                    "format the column as Text (文本) in Excel before saving"
                )

    def _key_and_ref_checks(self, spec: TableSpec, stage: str, refs) -> list[tuple[str, str]]:
        """(SQL selecting _file, _row of flagged rows, reason), in the loaders' order."""
        d = self.d
        st = d.ident(stage)
        out = []
        if spec.key:
            keys = ", ".join(d.ident(k) for k in spec.key)
            complete = " AND ".join(f"{d.ident(k)} IS NOT NULL" for k in spec.key)
            if self.es.engine == "duckdb":
                cand = (
                    f"SELECT hash({keys}) AS h FROM {st} WHERE {complete} "
                    "GROUP BY h HAVING count(*) > 1"
                )
                sql = (
                    f"SELECT _file, _row FROM (SELECT _file, _row, row_number() OVER "
                    f"(PARTITION BY {keys} ORDER BY _file, _row) AS rn FROM {st} "
                    f"WHERE {complete} AND hash({keys}) IN ({cand})) AS x WHERE rn > 1"
                )
            else:
                sql = (
                    f"SELECT _file, _row FROM (SELECT _file, _row, row_number() OVER "
                    f"(PARTITION BY {keys} ORDER BY _file, _row) AS rn FROM {st} "
                    f"WHERE {complete}) AS x WHERE rn > 1"
                )
            out.append((sql, "duplicate_key"))
        for col, (ref_sql, reason) in refs.items():
            c = d.ident(col)
            sql = (
                f"SELECT _file, _row FROM {st} AS s LEFT ANTI JOIN ({ref_sql}) AS r "
                f"ON s.{c} = r.k WHERE s.{c} IS NOT NULL"
                if self.es.engine == "spark"
                else f"SELECT _file, _row FROM {st} AS s WHERE s.{c} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM ({ref_sql}) AS r WHERE r.k = s.{c})"
            )
            out.append((sql, reason))
        return out

    def _apply(self, stage: str, extra: list[tuple[str, str]]) -> None:
        """Append the key/reference reasons to the flagged rows of the stage table."""
        d, es = self.d, self.es
        st = d.ident(stage)
        union = " UNION ALL ".join(
            f"SELECT _file, _row, {k} AS ord, {_lit(reason)} AS reason FROM ({sql}) AS f{k}"
            for k, (sql, reason) in enumerate(extra)
        )
        flags = es.name("flags")
        if es.engine == "duckdb":
            es.create(
                flags,
                f"SELECT _file, _row, string_agg(reason, ';' ORDER BY ord) AS r FROM ({union}) "
                "AS u GROUP BY _file, _row",
            )
            n = es.rows(f"SELECT count(*) FROM {d.ident(flags)}")[0][0]
            if n:
                es.sql(
                    f"UPDATE {st} SET _reasons = CASE WHEN {st}._reasons IS NULL THEN f.r ELSE "
                    f"{st}._reasons || ';' || f.r END FROM {d.ident(flags)} AS f "
                    f"WHERE {st}._file = f._file AND {st}._row = f._row"
                )
            es.sql(f"DROP TABLE {d.ident(flags)}")
        else:
            es.create(
                flags,
                f"SELECT _file, _row, concat_ws(';', transform(array_sort(collect_list("
                f"struct(ord, reason))), x -> x.reason)) AS r FROM ({union}) AS u "
                "GROUP BY _file, _row",
            )
            cols = [c for c in es.spark.table(stage).columns if c != "_reasons"]
            sel = ", ".join(f"s.{d.ident(c)}" for c in cols)
            new = es.name(stage + "_k")
            es.create(
                new,
                f"SELECT {sel}, CASE WHEN f.r IS NULL THEN s._reasons WHEN s._reasons IS NULL "
                f"THEN f.r ELSE concat(s._reasons, ';', f.r) END AS _reasons FROM {st} AS s "
                f"LEFT JOIN {d.ident(flags)} AS f ON s._file = f._file AND s._row = f._row",
            )
            es.spark.table(new).createOrReplaceTempView(stage)

    # -------------------------------------------------------------- outputs
    def write_quarantine(self, t: EngineTable, path: Path) -> None:
        d = self.d
        spec = t.spec
        pii = set(spec.pii_columns)
        reserved = {SOURCE_ROW_COLUMN, SOURCE_FILE_COLUMN, reason_column(spec)}
        files = "[" + ", ".join(_lit(str(p.relative_to(self.sources.root))) for p in t.paths) + "]"
        cols = [f"_row AS {SOURCE_ROW_COLUMN}", f"{files}[_file + 1] AS {SOURCE_FILE_COLUMN}"]
        for name in t.columns:
            if name in pii or self._looks_personal(t, name):
                continue  # personal data by contract, column name or value pattern
            out = f"file_{name}" if name in reserved else name
            if name in spec.column_names and (t.typed_columns is None or name in t.typed_columns):
                c = spec.column(name)
                typed = d.ident(name)
                fallback = (
                    d.format_ts(typed) if c.dtype in ("date", "datetime") else d.to_text(typed)
                )
                if c.dtype == "float":
                    fallback = d.to_text(typed)
                expr = f"COALESCE({d.ident('_q_' + name)}, {fallback})"
            else:
                expr = d.ident("_q_" + name)
            cols.append(f"{expr} AS {d.ident(out)}")
        cols.append(f"_reasons AS {d.ident(reason_column(spec))}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.es.sql(
            f"COPY (SELECT {', '.join(cols)} FROM {d.ident(t.quarantined_table)} "
            "WHERE _reasons IS NOT NULL "
            f"ORDER BY _file, _row) TO {_lit(str(path))} (FORMAT parquet)"
        )

    def _looks_personal(self, t: EngineTable, name: str) -> bool:
        """A non-contract column named like personal data, or mostly ID/mobile numbers."""
        from riskscore.io._privacy import KEEP, NAME_PATTERNS, VALUE_RE, VALUE_SHARE

        if name in KEEP:
            return False
        if NAME_PATTERNS.search(name):
            return True
        if name in t.spec.column_names:
            return False
        d = self.d
        col = d.ident("_q_" + name)
        hit = d.full_match(col, VALUE_RE.pattern.replace("^\\s*", "^").replace("\\s*$", "$"))
        rows = self.es.rows(
            f"SELECT avg(CASE WHEN {hit} THEN 1.0 ELSE 0.0 END) "
            f"FROM {d.ident(t.quarantined_table)} "
            f"WHERE _reasons IS NOT NULL AND {col} IS NOT NULL AND {col} <> ''"
        )
        row = rows[0] if rows else None
        return bool(row and row[0] is not None and row[0] > VALUE_SHARE)

    def write_clean(self, t: EngineTable, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.es.sql(
            f"COPY (SELECT * FROM {self.d.ident(t.view)}) TO {_lit(str(path))} (FORMAT parquet)"
        )


def _sql_type(dtype: str, d: Dialect) -> str:
    return {
        "code": d.string_type(),
        "str": d.string_type(),
        "int": "BIGINT",
        "float": "DOUBLE",
        "date": "TIMESTAMP",
        "datetime": "TIMESTAMP",
    }[dtype]


# ----------------------------------------------------------------------------- dataset
@dataclass
class EngineDataset:
    """A data folder loaded through the engine: claims in the engine, small tables pandas."""

    root: Path
    session: EngineSession
    tables: dict[str, EngineTable | TableResult]
    missing_optional: list[str]
    extra_files: list[str]
    sources: Sources | None = None
    dictionaries: object = None

    def __contains__(self, name: str) -> bool:
        return name in self.tables

    def frame(self, name: str) -> pd.DataFrame | None:
        """Accepted rows of a small (pandas) table; ``None`` when absent."""
        t = self.tables.get(name)
        if t is None:
            return None
        if isinstance(t, EngineTable):
            raise RiskscoreError(f"{name}: a claims table stays in the engine; use ibis_tables()")
        return t.data

    def ibis_tables(self, names: list[str] | None = None) -> dict:
        """Table name → Ibis table of accepted rows (claims in the engine, small tables
        registered from pandas)."""
        from riskscore.indicators.engine import _coerce_frame

        out = {}
        for name, t in self.tables.items():
            if names is not None and name not in names:
                continue
            if isinstance(t, EngineTable):
                out[name] = self.session.ibis.table(t.view)
            else:
                view = self.session.name(name)
                self.session.register_frame(view, _coerce_frame(name, t.data))
                out[name] = self.session.ibis.table(view)
        return out

    def report(self) -> dict:
        """As :meth:`riskscore.io.Dataset.report` (``files[t]["files"]`` when several)."""
        from riskscore.io._load import dataset_report

        def label(name, t):
            if isinstance(t, EngineTable) and self.sources:
                return self.sources.label(name)
            return t.path.name

        return dataset_report(self, label)


def _known_codes(res: TableResult, column: str) -> pd.DataFrame:
    """Non-empty normalised values of a column over every row of a small table's file."""
    zfill = res.spec.column(column).zfill
    vals = [res.data[column].dropna().astype(str)]
    if len(res.quarantine) and column in res.quarantine.columns:
        vals.append(normalize_codes(res.quarantine[column], zfill).dropna().astype(str))
    s = pd.concat(vals, ignore_index=True).drop_duplicates()
    return pd.DataFrame({"k": s.astype(object)})


def load_folder_engine(
    data_dir: str | Path,
    session: EngineSession,
    tables: list[str] | None = None,
    *,
    quarantine_dir: str | Path | None = None,
    clean_dir: str | Path | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    dictionaries=None,
    keep_data: bool = True,
) -> EngineDataset:
    """Load and validate a data folder; claims tables in the engine, small tables in pandas.

    Parameters
    ----------
    data_dir : path
    session : EngineSession
    tables : list of str, optional
        Only these tables (every required table must still be present).
    quarantine_dir : path, optional
        Write quarantined rows: claims to ``<dir>/<table>.parquet`` (with ``source_file``),
        small tables to ``<dir>/<table>.csv`` as before; personal-data columns left out.
    clean_dir : path, optional
        Write accepted rows to ``<dir>/<table>.parquet``.
    batch_rows : int
        Batch size of the pandas loaders (small tables).
    keep_data : bool
        Keep every typed column of the engine tables (default). ``False`` (counts and
        quarantine only, as ``riskscore validate``) keeps the key and reference columns;
        the dataset's Ibis tables then lack the others.

    Raises
    ------
    ContractError
        As :func:`riskscore.io.load_folder` (all refused files in one message).
    """
    data_dir = Path(data_dir)
    sources = scan_sources(data_dir)
    found = sources.files
    missing_required = [t for t in TABLES.values() if t.required and t.name not in found]
    if missing_required:
        what = ", ".join(f"'{t.name}' ({t.zh})" for t in missing_required)
        raise ContractError(
            f"{data_dir}: missing required table{'s' if len(missing_required) > 1 else ''} "
            f"{what}; expected a file <table>.csv, .csv.gz, .xlsx or .parquet for each"
        )
    wanted = list(TABLES) if tables is None else list(tables)
    for name in wanted:
        if name not in TABLES:
            raise ContractError(f"unknown table '{name}'; expected one of {', '.join(TABLES)}")
    missing_optional = [n for n in TABLES if n not in found and not TABLES[n].required]
    from riskscore.io.dictionaries import Dictionaries, load_dictionaries

    dicts = (
        dictionaries
        if isinstance(dictionaries, Dictionaries)
        else load_dictionaries(dictionaries, data_dir)
    )
    loader = _Loader(session, sources, dicts)
    results: dict[str, EngineTable | TableResult] = {}
    errors: list[str] = []
    qdir = Path(quarantine_dir) if quarantine_dir is not None else None
    cdir = Path(clean_dir) if clean_dir is not None else None
    order = [n for n in ("institutions", "mdtrt_d") if n in wanted and n in found]
    order += [n for n in wanted if n in found and n not in order]
    # referenced tables are loaded first even when not wanted (their keys are needed)
    ref_sql: dict[tuple[str, str], str | None] = {}

    def ref_keys(ref_table: str, ref_col: str) -> str | None:
        key = (ref_table, ref_col)
        if key in ref_sql:
            return ref_sql[key]
        res = results.get(ref_table)
        if res is None:
            try:
                res = _load_one_table(ref_table)
                results[ref_table] = res
            except ContractError:
                ref_sql[key] = None
                return None
        d = session.dialect
        if isinstance(res, EngineTable):
            sql = (
                f"SELECT DISTINCT {d.ident(ref_col)} AS k FROM {d.ident(res.stage)} "
                f"WHERE {d.ident(ref_col)} IS NOT NULL"
            )
        else:
            name = session.name(f"{ref_table}_keys")
            session.register_frame(name, _known_codes(res, ref_col))
            sql = f"SELECT k FROM {d.ident(name)}"
        ref_sql[key] = sql
        return sql

    def _load_one_table(name: str):
        spec = TABLES[name]
        files = found[name]
        if name in ENGINE_TABLES:
            refs: dict[str, tuple[str, str]] = {}
            skipped: list[str] = []
            for col, ref_table, ref_col, reason in REFERENCES.get(name, ()):
                if ref_table not in found:
                    skipped.append(f"{reason} ({ref_table} absent)")
                    continue
                sql = ref_keys(ref_table, ref_col)
                if sql is None:
                    skipped.append(f"{reason} ({ref_table} unreadable)")
                    continue
                refs[col] = (sql, reason)
            return loader.load(
                spec, files, refs, skipped, keep_data=keep_data or clean_dir is not None
            )
        from riskscore.io._load import _refs_for

        small_found = {n: fs[0] for n, fs in found.items() if n not in ENGINE_TABLES}
        refs2, skipped2 = _refs_for(name, small_found, {}, batch_rows)
        return load_one(
            spec,
            files[0],
            refs2,
            skipped2,
            batch_rows=batch_rows,
            keep="memory",
            dictionaries=dicts,
        )

    for name in order:
        try:
            if name not in results:
                results[name] = _load_one_table(name)
        except ContractError as exc:
            if str(exc) not in errors:
                errors.append(str(exc))
    if errors:
        raise ContractError("; ".join(errors) if len(errors) > 1 else errors[0])
    ordered = {n: results[n] for n in TABLES if n in results and n in wanted}
    for name, t in ordered.items():
        if qdir is not None:
            if isinstance(t, EngineTable):
                if session.engine != "duckdb":
                    raise RiskscoreError("--quarantine-out needs --engine duckdb")
                loader.write_quarantine(t, qdir / f"{name}.parquet")
            else:
                qdir.mkdir(parents=True, exist_ok=True)
                from riskscore.io._privacy import safe_quarantine

                q = safe_quarantine(t.quarantine, t.spec)  # no personal columns, neutralised
                q.to_csv(qdir / f"{name}.csv", index=False, encoding="utf-8-sig")
        if cdir is not None:
            if isinstance(t, EngineTable):
                loader.write_clean(t, cdir / f"{name}.parquet")
            else:
                from riskscore.io._load import _write_parquet

                cdir.mkdir(parents=True, exist_ok=True)
                _write_parquet(t.data, t.spec, cdir / f"{name}.parquet")
    return EngineDataset(
        root=data_dir,
        session=session,
        tables=ordered,
        missing_optional=missing_optional,
        extra_files=sources.extra,
        sources=sources,
        dictionaries=dicts,
    )
