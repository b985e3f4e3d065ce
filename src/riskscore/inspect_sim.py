"""Simulated inspections (模拟检查) on a synthetic province — synthetic data only.

For every institution drawn (``DRAW_DIR/frame.csv``, ``selected == 1``) one result row is
written in the layout of the contract table ``inspection_results``: what an inspection of
that institution finds is read from the synthetic province's ``truth_outcomes.csv``
(fixmedins_code, violation_found, improper_amount — imperfect detection already included);
the violation types from ``truth.csv`` when present; recovery, penalty, rectification
(整改), follow-up visit (回访) and referral (移送) are simulated around them. ``K``
complaint-driven inspections (投诉举报, ``origin="complaint"``) of institutions outside the
draw are added; complaints favour violators, which is exactly why such inspections must
stay out of the estimators.

Everything random comes from ``numpy.random.default_rng(seed)`` over inputs sorted by
``fixmedins_code``, so the same inputs and seed give the same file.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscore.contract import FAMILIES, TABLES
from riskscore.errors import RiskscoreError
from riskscore.estimate import check_frame

RESULT_COLUMNS = TABLES["inspection_results"].column_names
DEFAULT_DEADLINE = "2025-12-10"
"""Finish inspections by this date when the draw manifest names none (seed 003 §四)."""
REFERRAL_BODIES = ("公安机关", "纪检监察机关")


@dataclass
class SimSettings:
    """Parameters of the simulated inspection process (documented defaults).

    Attributes
    ----------
    recovery_share : tuple of float
        Share of the improper amount recovered (追回), uniform in this range.
    penalty_multiples : tuple of float
        Fine as a multiple of the improper amount (条例 Art. 38: 1–2×; 0 = warning only).
    penalty_weights : tuple of float
    rectify_days : tuple of int
        Rectification period (整改期限) in days after the inspection.
    on_time, late : float
        Shares of rectifications completed on time and late; the rest are not done yet.
    followup_days : int
        Follow-up visit (回访) this many days after the rectification deadline.
    referral_rate : float
        Share of violators with the largest amounts referred to the police / discipline
        inspection (移送).
    complaint_violation_odds : float
        How much more likely a violator is to be the subject of a complaint.
    window_days : tuple of int
        Without a round window in the manifest, inspections take place between
        ``deadline - window_days[0]`` and ``deadline - window_days[1]`` days; with one, within
        the round and at least ``window_days[1]`` days before the deadline (results entered
        before the deadline).
    """

    recovery_share: tuple = (0.6, 1.0)
    penalty_multiples: tuple = (0.0, 1.0, 1.5, 2.0)
    penalty_weights: tuple = (0.3, 0.4, 0.15, 0.15)
    rectify_days: tuple = (30, 60)
    on_time: float = 0.7
    late: float = 0.15
    followup_days: int = 30
    referral_rate: float = 0.05
    complaint_violation_odds: float = 4.0
    window_days: tuple = (240, 15)


def read_csv_text(path: Path, what: str) -> pd.DataFrame:
    """Read a CSV with every column as text (codes keep leading zeros).

    A file of an output set is checked against its folder's completion record first
    (:func:`riskscore.outputs.check_artifact`); ``'`` prefixes against formula injection are
    undone.
    """
    from riskscore.outputs import check_artifact, unneutralise_frame

    try:
        if Path(path).exists():
            check_artifact(path)
        return unneutralise_frame(
            pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
            )
        )
    except FileNotFoundError:
        raise RiskscoreError(f"{path}: file not found; expected {what}") from None
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RiskscoreError(
            f"{path}: cannot be read as CSV ({type(exc).__name__}); expected {what}"
        ) from None


def read_frame(draw_dir: Path) -> pd.DataFrame:
    """The draw frame ``DRAW_DIR/frame.csv``, checked (:func:`riskscore.estimate.check_frame`)."""
    path = Path(draw_dir) / "frame.csv"
    raw = read_csv_text(
        path,
        "the draw frame (fixmedins_code, tier, stratum, N_h, n_h, pi, "
        "selected) written by `riskscore draw`",
    )
    return check_frame(raw, source=str(path))


def read_manifest(draw_dir: Path) -> dict:
    """``DRAW_DIR/manifest.json`` as a dict (empty when absent)."""
    path = Path(draw_dir) / "manifest.json"
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RiskscoreError(
            f"{path}: not valid JSON ({exc.msg if hasattr(exc, 'msg') else exc})"
        ) from None


def _find_key(obj, key: str):
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for v in obj:
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


def deadline_from_manifest(manifest: dict, draw_dir: Path | None = None) -> dt.date:
    """The policy deadline (检查完成期限): ``deadline`` in the manifest, else in
    ``DRAW_DIR/inputs/policy.yaml``, else :data:`DEFAULT_DEADLINE`."""
    value = _find_key(manifest, "deadline")
    if not value and draw_dir is not None and (Path(draw_dir) / "inputs" / "policy.yaml").exists():
        import yaml

        try:
            pol = yaml.safe_load((Path(draw_dir) / "inputs" / "policy.yaml").read_text("utf-8"))
        except yaml.YAMLError:
            pol = None
        value = pol.get("deadline") if isinstance(pol, dict) else None
    try:
        return (
            dt.date.fromisoformat(str(value)[:10])
            if value
            else dt.date.fromisoformat(DEFAULT_DEADLINE)
        )
    except ValueError:
        raise RiskscoreError(
            f"manifest.json: 'deadline' {value!r} is not a date (YYYY-MM-DD)"
        ) from None


def round_window(manifest: dict) -> tuple[dt.date | None, dt.date | None]:
    """Start and end of the draw round (``manifest["round"]["start"/"end"]``) when recorded."""
    rd = manifest.get("round") if isinstance(manifest, dict) else None
    if not isinstance(rd, dict):
        return None, None
    out = []
    for k in ("start", "end"):
        try:
            out.append(dt.date.fromisoformat(str(rd.get(k))[:10]) if rd.get(k) else None)
        except ValueError:
            out.append(None)
    return out[0], out[1]


def read_truth_outcomes(data_dir: Path) -> pd.DataFrame:
    """``DIR/truth_outcomes.csv``: what an inspection of each institution would find."""
    path = Path(data_dir) / "truth_outcomes.csv"
    t = read_csv_text(
        path,
        "truth_outcomes.csv (fixmedins_code, violation_found, "
        "improper_amount) from `riskscore synth`",
    )
    for c in ("fixmedins_code", "violation_found", "improper_amount"):
        if c not in t.columns:
            raise RiskscoreError(
                f"{path}: missing column {c!r}; expected fixmedins_code, "
                "violation_found, improper_amount"
            )
    t["fixmedins_code"] = t["fixmedins_code"].astype("string").str.strip()
    v = pd.to_numeric(t["violation_found"], errors="coerce")
    if v.isna().any() or not v.isin([0, 1]).all():
        raise RiskscoreError(f"{path}: column 'violation_found' must be 0 or 1 on every row")
    a = pd.to_numeric(t["improper_amount"], errors="coerce").fillna(0.0)
    if (a < 0).any():
        raise RiskscoreError(f"{path}: column 'improper_amount' must be ≥ 0")
    if t["fixmedins_code"].duplicated().any():
        raise RiskscoreError(f"{path}: fixmedins_code repeated; expected one row per institution")
    return pd.DataFrame(
        {
            "fixmedins_code": t["fixmedins_code"],
            "violation_found": v.astype(int),
            "improper_amount": a.astype(float),
        }
    )


def read_truth_types(data_dir: Path) -> dict[str, str]:
    """Planted violation families per institution from ``DIR/truth.csv`` (``;``-joined).

    Accepts a long layout (``fixmedins_code`` + ``family``/``family_id``/``violation_type``)
    or a wide one (one column per family id, non-zero = planted). Empty when absent.
    """
    path = Path(data_dir) / "truth.csv"
    if not path.exists():
        return {}
    t = read_csv_text(path, "truth.csv")
    if "fixmedins_code" not in t.columns:
        raise RiskscoreError(f"{path}: missing column 'fixmedins_code'")
    t["fixmedins_code"] = t["fixmedins_code"].astype("string").str.strip()
    fam_col = next(
        (
            c
            for c in ("family", "family_id", "violation_type", "violation_family")
            if c in t.columns
        ),
        None,
    )
    if fam_col:
        t = t[t[fam_col].isin(list(FAMILIES))]
        grouped = t.groupby("fixmedins_code")[fam_col].agg(lambda s: ";".join(sorted(set(s))))
        return grouped.to_dict()
    wide = [c for c in FAMILIES if c in t.columns]
    if not wide:
        return {}
    vals = t[wide].apply(pd.to_numeric, errors="coerce").fillna(0) != 0
    out: dict[str, str] = {}
    for code, row in zip(t["fixmedins_code"], vals.itertuples(index=False), strict=True):
        fams = [f for f, on in zip(wide, row, strict=True) if on]
        if fams:
            out[str(code)] = ";".join(
                sorted(set(out.get(str(code), "").split(";")) - {""} | set(fams))
            )
    return out


def _simulate_rows(codes, truth, types, rng, settings, window, origin, rounds, prefix):
    n = len(codes)
    t = truth.set_index("fixmedins_code").loc[codes]
    found = t["violation_found"].to_numpy(int)
    amount = np.where(found == 1, t["improper_amount"].to_numpy(float), 0.0)
    start, end = window
    offset = rng.integers(0, (end - start).days + 1, size=n)
    inspect = [start + dt.timedelta(days=int(d)) for d in offset]
    share = rng.uniform(*settings.recovery_share, size=n)
    recovered = np.round(amount * share, 2)
    mult = rng.choice(
        np.asarray(settings.penalty_multiples),
        p=np.asarray(settings.penalty_weights) / np.sum(settings.penalty_weights),
        size=n,
    )
    penalty = np.round(amount * mult, 2)
    rect_days = rng.integers(settings.rectify_days[0], settings.rectify_days[1] + 1, size=n)
    u = rng.random(n)
    late_by = rng.integers(5, 60, size=n)
    early_by = rng.integers(0, 20, size=n)
    ref_draw = rng.random(n)
    ref_body = rng.integers(0, len(REFERRAL_BODIES), size=n)
    # referrals go to the largest amounts among violators
    big = amount >= np.quantile(amount[found == 1], 0.5) if found.sum() else np.zeros(n, bool)
    rows = []
    for i, code in enumerate(codes):
        r = {c: None for c in RESULT_COLUMNS}
        r.update(
            result_id=f"{prefix}{i + 1:05d}",
            fixmedins_code=code,
            origin=origin,
            draw_round=rounds[i] if rounds is not None else None,
            inspect_date=inspect[i].isoformat(),
            violation_found=int(found[i]),
            improper_amount=float(amount[i]),
            recovered_amount=float(recovered[i]),
            penalty_amount=float(penalty[i]),
        )
        if found[i]:
            r["violation_types"] = types.get(code) or None
            deadline_i = inspect[i] + dt.timedelta(days=int(rect_days[i]))
            r["rectify_deadline"] = deadline_i.isoformat()
            if u[i] < settings.on_time:
                r["rectify_done_date"] = (
                    deadline_i - dt.timedelta(days=int(early_by[i]))
                ).isoformat()
            elif u[i] < settings.on_time + settings.late:
                r["rectify_done_date"] = (
                    deadline_i + dt.timedelta(days=int(late_by[i]))
                ).isoformat()
            r["followup_date"] = (
                deadline_i + dt.timedelta(days=settings.followup_days)
            ).isoformat()
            if big[i] and ref_draw[i] < 2 * settings.referral_rate:
                r["referral_to"] = REFERRAL_BODIES[int(ref_body[i])]
        rows.append(r)
    return rows


def simulate_inspections(
    frame: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    types: dict[str, str] | None = None,
    seed: int = 0,
    complaints: int = 10,
    deadline: dt.date | None = None,
    window: tuple[dt.date | None, dt.date | None] = (None, None),
    items: pd.DataFrame | None = None,
    settings: SimSettings | None = None,
) -> pd.DataFrame:
    """Simulate the inspection results of a draw (模拟检查结果).

    Parameters
    ----------
    frame : DataFrame
        Checked draw frame; rows with ``selected == 1`` are inspected (``origin="draw"``,
        ``draw_round`` from the ``round`` column, else ``"1"``).
    truth : DataFrame
        ``fixmedins_code, violation_found, improper_amount`` for every institution.
    types : dict, optional
        fixmedins_code → ``;``-joined family ids (violation_types of violators).
    seed : int
        Seed of ``numpy.random.default_rng``.
    complaints : int
        Number of complaint-driven inspections (投诉举报) of institutions not drawn.
    deadline : date, optional
        Inspections happen before it (default :data:`DEFAULT_DEADLINE`).
    window : (date, date), optional
        The round's start and end (manifest); inspections fall inside it and before the
        deadline. Without it: ``settings.window_days`` before the deadline.
    items : DataFrame, optional
        Inspection items (抽查事项清单: ``item_id``, ``target_type``, optional ``pharmacy``
        flag of the institution in ``pharmacy_codes``); each inspection gets one key item at
        random from those whose target type fits the institution (药店 items for pharmacies,
        the others for hospitals and clinics), from its own stream ``default_rng([seed, 1])``.
        Without it ``item_id`` stays empty.
    settings : SimSettings, optional

    Returns
    -------
    DataFrame
        Columns of the contract table ``inspection_results``, one row per inspection.
    """
    settings = settings or SimSettings()
    types = types or {}
    deadline = deadline or dt.date.fromisoformat(DEFAULT_DEADLINE)
    if complaints < 0:
        raise RiskscoreError(f"--complaints must be ≥ 0, got {complaints}")
    drawn = frame[frame["selected"] == 1].sort_values("fixmedins_code")
    codes = drawn["fixmedins_code"].astype(str).tolist()
    missing = sorted(set(codes) - set(truth["fixmedins_code"].astype(str)))
    if missing:
        raise RiskscoreError(
            f"truth_outcomes.csv: drawn institution {missing[0]!r} has no row "
            f"({len(missing)} missing); expected one row per institution"
        )
    rounds = drawn["round"].astype(str).tolist() if "round" in drawn.columns else ["1"] * len(codes)
    lo, hi = settings.window_days
    start = window[0] or deadline - dt.timedelta(days=lo)
    end = min(window[1] or deadline, deadline - dt.timedelta(days=hi))
    if end < start:
        end = start
    rng = np.random.default_rng(seed)
    tag = rounds[0] if rounds and len(set(rounds)) == 1 else ""
    rows = _simulate_rows(
        codes, truth, types, rng, settings, (start, end), "draw", rounds, f"D{tag}-"
    )
    # complaint-driven inspections of institutions outside the draw
    pool = truth[~truth["fixmedins_code"].isin(codes)].sort_values("fixmedins_code")
    k = min(int(complaints), len(pool))
    if k:
        w = np.where(
            pool["violation_found"].to_numpy() == 1, settings.complaint_violation_odds, 1.0
        )
        pick = rng.choice(len(pool), size=k, replace=False, p=w / w.sum())
        ccodes = pool["fixmedins_code"].iloc[np.sort(pick)].astype(str).tolist()
        rows += _simulate_rows(
            ccodes, truth, types, rng, settings, (start, end), "complaint", None, f"C{tag}-"
        )
    out = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    out["violation_found"] = out["violation_found"].astype(int)
    if items is not None and len(items):
        it = items.sort_values("item_id")
        is_pharm_item = it["target_type"].astype(str).str.contains("药店")
        pharm_codes = set(items.attrs.get("pharmacy_codes", ()))
        pools = {
            True: it.loc[is_pharm_item, "item_id"].tolist() or it["item_id"].tolist(),
            False: it.loc[~is_pharm_item, "item_id"].tolist() or it["item_id"].tolist(),
        }
        u = np.random.default_rng([seed, 1]).random(len(out))
        out["item_id"] = [
            pools[c in pharm_codes][int(x * len(pools[c in pharm_codes]))]
            for c, x in zip(out["fixmedins_code"], u, strict=True)
        ]
    return out


def run_inspect_sim(
    draw_dir: str | Path,
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    seed: int = 0,
    complaints: int = 10,
    deadline: str | None = None,
) -> pd.DataFrame:
    """Read the draw and the synthetic truth, simulate, write ``OUT/results.csv``.

    Also writes ``OUT/inspect_sim.json`` (seed, inputs, counts) so the run can be repeated.
    """
    draw_dir, data_dir, out_dir = Path(draw_dir), Path(data_dir), Path(out_dir)
    frame = read_frame(draw_dir)
    truth = read_truth_outcomes(data_dir)
    types = read_truth_types(data_dir)
    items = None
    if any((data_dir / f"inspection_items{ext}").exists() for ext in (".csv", ".xlsx", ".parquet")):
        from riskscore.io import load_table

        tab = load_table(data_dir, "inspection_items")
        if tab is not None and len(tab):
            key = tab[tab["item_class"] == "key"]
            items = (key if len(key) else tab)[["item_id", "target_type"]].astype(str)
            inst = load_table(data_dir, "institutions")
            if inst is not None:
                items.attrs["pharmacy_codes"] = (
                    inst.loc[inst["medins_type"] == "pharmacy", "fixmedins_code"]
                    .astype(str)
                    .tolist()
                )
    if deadline:
        try:
            dl = dt.date.fromisoformat(deadline)
        except ValueError:
            raise RiskscoreError(f"--deadline {deadline!r}: expected a date YYYY-MM-DD") from None
    manifest = read_manifest(draw_dir)
    if not deadline:
        dl = deadline_from_manifest(manifest, draw_dir)
    res = simulate_inspections(
        frame,
        truth,
        types=types,
        seed=seed,
        complaints=complaints,
        deadline=dl,
        window=round_window(manifest),
        items=items,
    )
    from riskscore.outputs import (
        atomic_write_bytes,
        atomic_write_text,
        begin_outputs,
        frame_csv_bytes,
        sha256_file,
    )

    begin_outputs(out_dir, "inspect_sim.json", "riskscore inspect-sim")
    atomic_write_bytes(out_dir / "results.csv", frame_csv_bytes(res))  # BOM, neutralised
    meta = {
        "seed": seed,
        "complaints_requested": complaints,
        "draw_dir": str(draw_dir),
        "data_dir": str(data_dir),
        "deadline": dl.isoformat(),
        "round_window": [str(d) if d else None for d in round_window(manifest)],
        "rows": int(len(res)),
        "by_origin": {k: int(v) for k, v in res["origin"].value_counts().sort_index().items()},
        "violations_found": int(res["violation_found"].sum()),
    }
    meta["status"] = "complete"
    meta["outputs_sha256"] = {"results.csv": sha256_file(out_dir / "results.csv")}
    atomic_write_text(out_dir / "inspect_sim.json", json.dumps(meta, ensure_ascii=False, indent=2))
    return res
