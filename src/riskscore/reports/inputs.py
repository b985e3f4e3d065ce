"""Read the outputs of the other steps for a report (报告输入).

Each reader names the file it wanted and the command that makes it when something is
missing, and raises :class:`riskscore.errors.RiskscoreError` on a missing column.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskscore.errors import RiskscoreError

CODE_COLUMNS = (
    "fixmedins_code",
    "indicator_id",
    "record_id",
    "item_id",
    "inspector_id",
    "result_id",
    "tier",
    "next_tier",
    "current_tier",
    "stratum",
    "round",
    "draw_round",
    "region",
    "hosp_lv",
    "medins_type",
    "mdtrt_id",
    "setl_id",
    "bkkp_sn",
    "psn_no",
)
"""Columns read as text so that codes keep their leading zeros."""

PRODUCERS = {
    "score_dir": "riskscore score --data DIR --out OUT",
    "plan_dir": "riskscore plan --scores OUT/scores.csv --data DIR --out PLAN_DIR",
    "draw_dir": "riskscore draw --plan PLAN_DIR --out DRAW_DIR",
    "results_dir": "riskscore inspect-sim --draw DRAW_DIR --data DIR --out RESULTS_DIR",
    "analysis_dir": "riskscore analyze --draw DRAW_DIR --results RESULTS_DIR/results.csv --out OUT",
}


def read_csv(path: Path, required: tuple[str, ...] = (), what: str = "") -> pd.DataFrame:
    """Read a CSV written by riskscore with code columns as text.

    Parameters
    ----------
    path : Path
        File to read.
    required : tuple of str
        Columns that must be present.
    what : str
        The command that produces the file (for the error message).

    Raises
    ------
    RiskscoreError
        File missing, unreadable or lacking a required column.
    """
    path = Path(path)
    if not path.exists():
        hint = f"; make it with: {what}" if what else ""
        raise RiskscoreError(f"{path}: file not found{hint}")
    from riskscore.outputs import check_artifact, unneutralise_frame

    check_artifact(path)  # a partial or mixed output set is refused in one line
    try:
        head = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
        dtypes = {c: "string" for c in head.columns if c in CODE_COLUMNS}
        df = unneutralise_frame(
            pd.read_csv(path, dtype=dtypes, encoding="utf-8-sig", keep_default_na=True)
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise RiskscoreError(f"{path}: not a readable CSV file ({type(exc).__name__})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise RiskscoreError(
            f"{path}: column '{missing[0]}' missing; expected columns {', '.join(required)}"
        )
    return df


@dataclass
class ReportInputs:
    """Folders a report reads, with cached readers.

    Parameters
    ----------
    data_dir : str
        Data folder (contract tables: institutions, mdtrt_d, …).
    score_dir : str
        Output of ``riskscore score`` (scores.csv, evidence.csv, indicators.csv).
    plan_dir : str
        Output of ``riskscore plan`` (plan.json, inclusion.csv).
    draw_dir : str
        Output of ``riskscore draw`` (manifest.json, frame.csv, targets.csv, …).
    results_dir : str
        Output of ``riskscore inspect-sim`` or real results (results.csv).
    analysis_dir : str
        Output of ``riskscore analyze`` (estimates.csv, …).
    policy : str
        Policy file or shipped policy id; empty: the policy recorded in plan.json, else the
        default policy.
    lang : str
        ``zh`` (default) or ``en``.
    as_of : str
        Report date ``YYYY-MM-DD``; empty: the analysis' status date, else today (the annual
        plan uses the plan's own reference date, see
        :func:`riskscore.reports.annual_plan.plan_as_of`).
    """

    data_dir: str = ""
    score_dir: str = ""
    plan_dir: str = ""
    draw_dir: str = ""
    results_dir: str = ""
    analysis_dir: str = ""
    policy: str = ""
    lang: str = "zh"
    as_of: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ helpers
    def _dir(self, name: str) -> Path:
        value = getattr(self, name)
        if not value:
            raise RiskscoreError(
                f"report parameter '{name}' is empty; set it with -p {name} FOLDER "
                f"(made by: {PRODUCERS.get(name, name)})"
            )
        p = Path(value)
        if not p.is_dir():
            raise RiskscoreError(
                f"{p}: folder not found (parameter '{name}', made by: {PRODUCERS.get(name, name)})"
            )
        return p

    def has(self, name: str, filename: str) -> bool:
        """Whether folder parameter ``name`` is set and holds ``filename``."""
        value = getattr(self, name)
        return bool(value) and (Path(value) / filename).exists()

    def _csv(self, dirname: str, filename: str, required: tuple[str, ...] = ()) -> pd.DataFrame:
        key = f"{dirname}/{filename}"
        if key not in self._cache:
            self._cache[key] = read_csv(
                self._dir(dirname) / filename, required, PRODUCERS.get(dirname, "")
            )
        return self._cache[key].copy()

    def as_of_date(self) -> _dt.date:
        """The report date: ``as_of``; else the status date ``riskscore analyze`` used
        (analysis.json ``as_of``) when there is an analysis folder; else today."""
        if not self.as_of:
            if self.has("analysis_dir", "analysis.json"):
                try:
                    rec = json.loads(
                        (Path(self.analysis_dir) / "analysis.json").read_text(encoding="utf-8")
                    )
                    return _dt.date.fromisoformat(str(rec.get("as_of", ""))[:10])
                except (ValueError, OSError, json.JSONDecodeError):
                    pass
            return _dt.date.today()
        try:
            return _dt.date.fromisoformat(str(self.as_of))
        except ValueError:
            raise RiskscoreError(
                f"report parameter 'as_of': expected a date YYYY-MM-DD, got {self.as_of!r}"
            ) from None

    # ------------------------------------------------------------------ score step
    def scores(self) -> pd.DataFrame:
        """scores.csv joined with the institution registry (name, type, level, region)."""
        if "scores+" not in self._cache:
            df = self._csv("score_dir", "scores.csv", ("fixmedins_code", "risk_score", "tier"))
            inst = self.institutions()
            if inst is not None:
                cols = [
                    c
                    for c in ("fixmedins_name", "medins_type", "hosp_lv", "region", "ownership")
                    if c in inst.columns and c not in df.columns
                ]
                df = df.merge(inst[["fixmedins_code", *cols]], on="fixmedins_code", how="left")
            self._cache["scores+"] = df
        return self._cache["scores+"].copy()

    def evidence(self) -> pd.DataFrame:
        """evidence.csv of the score step (疑点记录: record ids per institution and indicator)."""
        return self._csv(
            "score_dir",
            "evidence.csv",
            ("fixmedins_code", "indicator_id", "family", "record_table", "record_id"),
        )

    def indicators(self) -> pd.DataFrame:
        """indicators.csv of the score step (one row per institution and indicator)."""
        return self._csv("score_dir", "indicators.csv", ("fixmedins_code", "indicator_id"))

    # ------------------------------------------------------------------ plan, draw
    def plan(self) -> dict:
        """plan.json of the plan step (年度抽查计划 summary)."""
        key = "plan.json"
        if key not in self._cache:
            p = self._dir("plan_dir") / "plan.json"
            self._cache[key] = _read_json(p, PRODUCERS["plan_dir"])
        return self._cache[key]

    def inclusion(self) -> pd.DataFrame:
        """inclusion.csv: inclusion probability π (入样概率) per institution."""
        return self._csv("plan_dir", "inclusion.csv", ("fixmedins_code", "tier", "pi"))

    def policy_dict(self) -> dict:
        """The policy: parameter ``policy``, else the plan folder's ``policy.yaml``, else the
        shipped policy named in plan.json, else the default policy."""
        if "policy" in self._cache:
            return self._cache["policy"]
        from riskscore.policy import load_policy

        ref: str | Path | None = self.policy or None
        if ref is None and self.has("plan_dir", "policy.yaml"):
            ref = Path(self.plan_dir) / "policy.yaml"
        elif ref is None and self.has("plan_dir", "plan.json"):
            pol = self.plan().get("policy")
            pid = pol.get("policy_id") if isinstance(pol, dict) else pol
            if isinstance(pid, str):
                from riskscore.policy import resolve_policy_id, shipped_policies

                pid = resolve_policy_id(pid)
                ref = pid if pid in shipped_policies() else None
        self._cache["policy"] = load_policy(ref)
        return self._cache["policy"]

    def manifest(self) -> dict:
        """manifest.json of the draw."""
        key = "manifest.json"
        if key not in self._cache:
            self._cache[key] = _read_json(
                self._dir("draw_dir") / "manifest.json", PRODUCERS["draw_dir"]
            )
        return self._cache[key]

    def frame(self) -> pd.DataFrame:
        """frame.csv of the draw (sampling frame with π and the selected flag)."""
        return self._csv("draw_dir", "frame.csv", ("fixmedins_code", "tier", "pi", "selected"))

    def targets(self) -> pd.DataFrame:
        """targets.csv of the draw (抽中机构)."""
        return self._csv("draw_dir", "targets.csv", ("fixmedins_code",))

    def assignments(self) -> pd.DataFrame | None:
        """assignments.csv of the draw (inspector teams); None when absent."""
        if not self.has("draw_dir", "assignments.csv"):
            return None
        return self._csv("draw_dir", "assignments.csv", ("fixmedins_code",))

    # ------------------------------------------------------------------ results, analysis
    def results(self) -> pd.DataFrame:
        """results.csv (contract table inspection_results) with numeric amounts."""
        df = self._csv(
            "results_dir",
            "results.csv",
            ("result_id", "fixmedins_code", "origin", "violation_found", "improper_amount"),
        )
        for c in ("improper_amount", "recovered_amount", "penalty_amount"):
            if c in df.columns:
                df[c] = pd.to_numeric(df[c], errors="coerce")
        return df

    def analysis(self, filename: str, required: tuple[str, ...] = ()) -> pd.DataFrame | None:
        """A table written by ``riskscore analyze``; None when the file is absent."""
        if not self.has("analysis_dir", filename):
            return None
        return self._csv("analysis_dir", filename, required)

    def estimates(self) -> pd.DataFrame:
        """estimates.csv of ``riskscore analyze`` (scope, measure, estimate, ci_low, ci_high)."""
        return self._csv(
            "analysis_dir", "estimates.csv", ("scope", "measure", "estimate", "ci_low", "ci_high")
        )

    # ------------------------------------------------------------------ data folder
    def data_table(self, name: str) -> pd.DataFrame | None:
        """A contract table from the data folder via :func:`riskscore.io.load_table`
        (None when absent)."""
        key = f"data/{name}"
        if key not in self._cache:
            if not self.data_dir:
                self._cache[key] = None
            else:
                from riskscore.io import load_table

                self._cache[key] = load_table(Path(self._dir("data_dir")), name)
        df = self._cache[key]
        return None if df is None else df.copy()

    def region_names(self) -> dict[str, str]:
        """Region code → name (区划名称) where known (see
        :func:`riskscore.reports.common.region_names`); empty without a data folder."""
        if "region_names" not in self._cache:
            from riskscore.reports.common import region_names

            self._cache["region_names"] = region_names(self.institutions())
        return dict(self._cache["region_names"])

    def institutions(self) -> pd.DataFrame | None:
        """The target registry (检查对象名录库) from the data folder; None when not set."""
        df = self.data_table("institutions")
        if df is not None:
            df["fixmedins_code"] = df["fixmedins_code"].astype("string")
        return df


def _read_json(path: Path, what: str) -> dict:
    if not path.exists():
        raise RiskscoreError(f"{path}: file not found; make it with: {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RiskscoreError(f"{path}: not valid JSON ({exc})") from None
