"""Deterministic writers: same data → byte-identical files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROW_GROUP = 262_144


class TableSink:
    """Stream record batches of one table to Parquet (or CSV) with fixed settings.

    Chunks are buffered and written in row groups of a fixed size, so the file layout
    depends only on the data, never on timing. No pandas metadata and no timestamps are
    written.
    """

    def __init__(self, path: Path, schema: pa.Schema, fmt: str = "parquet"):
        self.path = Path(path)
        self.schema = schema.remove_metadata()
        self.fmt = fmt
        self.rows = 0
        self._buf: list[pa.Table] = []
        self._buf_rows = 0
        if fmt == "parquet":
            self._w = pq.ParquetWriter(
                self.path,
                self.schema,
                compression="zstd",
                compression_level=3,
                use_dictionary=True,
                write_statistics=True,
                version="2.6",
            )
        else:
            self._f = open(self.path, "wb")  # noqa: SIM115
            self._f.write((",".join(self.schema.names) + "\n").encode("utf-8"))

    def write(self, table: pa.Table) -> None:
        table = table.select(self.schema.names).cast(self.schema)
        self.rows += table.num_rows
        self._buf.append(table)
        self._buf_rows += table.num_rows
        while self._buf_rows >= ROW_GROUP:
            self._flush(ROW_GROUP)

    def _flush(self, n: int | None) -> None:
        if not self._buf:
            return
        t = pa.concat_tables(self._buf)
        if n is None or n >= t.num_rows:
            head, rest = t, None
        else:
            head, rest = t.slice(0, n), t.slice(n)
        if head.num_rows:
            if self.fmt == "parquet":
                self._w.write_table(head, row_group_size=ROW_GROUP)
            else:
                _write_csv_rows(self._f, head)
        self._buf = [rest] if rest is not None and rest.num_rows else []
        self._buf_rows = rest.num_rows if rest is not None else 0

    def close(self) -> None:
        self._flush(None)
        if self.fmt == "parquet":
            self._w.close()
        else:
            self._f.close()


def _fmt_table_for_csv(t: pa.Table) -> pa.Table:
    cols = []
    for name in t.column_names:
        col = t[name]
        if pa.types.is_floating(col.type):
            vals = col.to_numpy().astype(float)
            miss = np.isnan(vals)
            txt = np.char.mod("%.2f", np.where(miss, 0.0, vals))
            cols.append(pa.array(txt.tolist(), pa.string(), mask=miss))
        elif pa.types.is_timestamp(col.type):
            import pyarrow.compute as pc

            cols.append(pc.strftime(col, format="%Y-%m-%d %H:%M:%S"))
        else:
            cols.append(col.cast(pa.string()))
    return pa.table(cols, names=t.column_names)


def _write_csv_rows(f, t: pa.Table) -> None:
    t = _fmt_table_for_csv(t)
    opts = pacsv.WriteOptions(include_header=False, delimiter=",", quoting_style="needed")
    pacsv.write_csv(t, f, write_options=opts)


def write_csv(df: pd.DataFrame, path: Path, float_format: str = "%.2f") -> None:
    """Write a registry table as UTF-8 CSV with fixed float format and ``\\n`` line ends."""
    df.to_csv(
        path,
        index=False,
        encoding="utf-8",
        float_format=float_format,
        lineterminator="\n",
        quoting=csv.QUOTE_MINIMAL,
    )
