"""Policy files (抽查政策文件): the numbers a bureau sets for its annual 双随机 plan.

A policy is a versioned YAML file. Every number in it carries its source (the plan article it
reproduces, or an explicit "riskscore default" with the reason) in the ``sources`` mapping, keyed
by the dotted path of the number (a prefix covers everything below it). The loader validates the
structure, the ranges and the sources and raises :class:`riskscore.errors.PolicyError` with one
line naming the key on bad input.

Shipped policies (``riskscore.paths.POLICIES_DIR``):

``floor10_2025``  (default) — 2025 监管抽查计划: floor ≥ 10 % a year, credit-differentiated
                   rates, teams ≥ 2 (joint: ≥ 2 per unit), recusal, 递补.
``xiping_2020``    — 西平县医疗保障局“双随机一公开”抽查实施细则 (西医保〔2020〕56号): ≤ 2
                   inspections per institution a year, key/general items, random matching,
                   annual plan in Q1.
``panshi_2025``    — 2025年磐石医保局行政执法年度检查计划: 3 % of designated institutions,
                   8 inspection areas, finish by 2025-12-10.

The earlier ids ``seed000_floor10``, ``seed001_xiping`` and ``seed003_panshi`` are still
accepted (:data:`POLICY_ALIASES`), so plans and scripts that name them keep working.

Structure (all keys required unless marked optional)::

    schema_version: 1
    policy_id: str
    title: str
    default: bool                      (optional; exactly one shipped policy is the default)
    year: int
    source_documents: {key: text}
    tiers:
      score_quantiles: {B: 0.50, C: 0.80, D: 0.95}   # read by the scoring step
      credit_adjust: {A: -1, B: 0, C: 1, D: 1}
    sampling:
      overall_floor: float in [0, 1]   # planned inspections (or institutions) ≥ floor × N
      floor_counts: inspections | institutions   # (default inspections) what the floor counts:
                                       # inspections (家次) or distinct institutions (家); with
                                       # institutions no institution is drawn twice a year
      floor_action: error | scale      # scale: raise all non-exempt tier rates proportionally
      tier_probabilities: {A: p, B: p, C: p, D: p}   # expected inspections per institution-year
      exempt: [tiers]                  # explicit exemptions (probability 0), warned about
      annual_cap: int ≥ 1              # inspections of one institution per year (regular draw)
      unscored_tier: A|B|C|D           (optional, default B) tier of registered institutions without a score
      design: srs | pips               (optional, default srs) within-tier selection: simple random
                                       (π = n_h/N_h) or proportional to size (conditional Poisson πps)
      size_measure: expected_loss      (pips) size measure from scores.csv
      size_floor: float in (0, 1]      (pips) size floor as a share of the tier's mean size (π > 0)
    rounds: [{name, share, start, end}]   # shares sum to 1
    deadline: date
    plan_due: date                     (optional)
    teams:
      min_size: int ≥ 2
      joint: {units: [unit codes], min_per_unit: int}   # units [] = not a joint inspection
      reserve_per_target: int ≥ 1
    inspectors:
      workload_cap_per_round: int ≥ 1  # targets per inspector per round
      days_per_inspection: float > 0   # inspector-days one inspector spends on one target
      days_available_per_year: float > 0   # inspector-days each inspector gives to the draw
    items:
      table: inspection_items          (optional pointer to the 抽查事项清单 table)
      list: [{item_id, item_name, item_class: key|general, content, legal_basis}]
    publication:
      inspector_names: bool            # may notices show inspector names?
      show_pi: bool                    # publish inclusion probabilities in the plan notice
    sources: {dotted.path: text}
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import yaml

from riskscore.errors import PolicyError
from riskscore.paths import POLICIES_DIR

TIERS: tuple[str, ...] = ("A", "B", "C", "D")
"""Risk tiers, A = lowest risk (信用好/风险低) … D = highest (信用差/风险高)."""

DEFAULT_POLICY_ID = "floor10_2025"

POLICY_ALIASES: dict[str, str] = {
    "seed000_floor10": "floor10_2025",
    "seed001_xiping": "xiping_2020",
    "seed003_panshi": "panshi_2025",
}
"""Earlier ids of the shipped policies → their current ids (still accepted everywhere)."""


DESIGNS: tuple[str, ...] = ("srs", "pips")
"""Target designs: ``srs`` stratified simple random sampling (default), ``pips``
probability proportional to size within each tier (conditional Poisson, :mod:`riskscore.pips`)."""

SIZE_MEASURES: tuple[str, ...] = ("expected_loss",)
"""Size measures of the ``pips`` design (columns of scores.csv)."""


def sampling_design(policy: dict) -> str:
    """``sampling.design`` of a validated policy (``srs`` when absent)."""
    return str(policy["sampling"].get("design", "srs"))


def resolve_policy_id(policy_id: str) -> str:
    """The current id of a shipped policy (earlier ids map through :data:`POLICY_ALIASES`)."""
    return POLICY_ALIASES.get(str(policy_id), str(policy_id))


class ExemptionWarning(UserWarning):
    """A tier is exempt from the draw: its institutions get π = 0 and vanish from estimates."""


def shipped_policies() -> dict[str, Path]:
    """Shipped policy files by ``policy_id`` (file stem).

    Returns
    -------
    dict of str to Path
    """
    return {p.stem: p for p in sorted(POLICIES_DIR.glob("*.yaml"))}


def default_policy_path() -> Path:
    """Path of the default shipped policy (the one with ``default: true``)."""
    return POLICIES_DIR / f"{DEFAULT_POLICY_ID}.yaml"


def _fail(where: str, key: str, expected: str, got: Any = None) -> None:
    got_txt = "" if got is None else f", got {got!r}"
    raise PolicyError(f"{where}: key '{key}': expected {expected}{got_txt}")


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _date(where: str, key: str, v: Any) -> str:
    if isinstance(v, _dt.datetime):
        return v.date().isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, str):
        try:
            return _dt.date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            pass
    _fail(where, key, "a date YYYY-MM-DD", v)
    return ""  # unreachable


def _mapping(where: str, d: Any, key: str) -> dict:
    v = d.get(key) if isinstance(d, dict) else None
    if not isinstance(v, dict):
        _fail(where, key, "a mapping", v)
    return v


def _numeric_paths(obj: Any, prefix: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _numeric_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _numeric_paths(v, f"{prefix}[{i}]")
    elif _num(obj):
        out.append(prefix)
    return out


def _has_source(path: str, sources: dict[str, str]) -> bool:
    p = path
    while p:
        if p in sources:
            return True
        # strip the last component: ".x" or "[i]"
        cut = max(p.rfind("."), p.rfind("["))
        if cut <= 0:
            return p in sources
        p = p[:cut]
    return False


def validate_policy(raw: Any, where: str = "policy") -> dict:
    """Validate a parsed policy mapping and return a normalised copy.

    Parameters
    ----------
    raw : dict
        Parsed YAML.
    where : str
        File name used in error messages.

    Returns
    -------
    dict
        The policy with dates as ISO strings, rates as floats and defaults filled in.

    Raises
    ------
    PolicyError
        Naming the key that is missing or out of range.
    """
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: expected a YAML mapping at the top level")
    pol = copy.deepcopy(raw)
    if pol.get("schema_version") != 1:
        _fail(where, "schema_version", "1", pol.get("schema_version"))
    for key in ("policy_id", "title"):
        if not isinstance(pol.get(key), str) or not pol[key].strip():
            _fail(where, key, "a non-empty string", pol.get(key))
    if not isinstance(pol.get("year"), int):
        _fail(where, "year", "an integer year", pol.get("year"))
    pol["default"] = bool(pol.get("default", False))
    if not isinstance(pol.get("source_documents"), dict) or not pol["source_documents"]:
        _fail(where, "source_documents", "a non-empty mapping of document key to citation")

    # tiers (read by the scoring step)
    tiers = _mapping(where, pol, "tiers")
    sq = _mapping(where, tiers, "score_quantiles")
    if set(sq) != {"B", "C", "D"}:
        _fail(where, "tiers.score_quantiles", "keys B, C, D", sorted(sq))
    prev = 0.0
    for t in ("B", "C", "D"):
        q = sq[t]
        if not _num(q) or not (prev < q < 1):
            _fail(where, f"tiers.score_quantiles.{t}", f"a number in ({prev}, 1), increasing", q)
        prev = float(q)
        sq[t] = float(q)
    ca = _mapping(where, tiers, "credit_adjust")
    if set(ca) != set(TIERS):
        _fail(where, "tiers.credit_adjust", "keys A, B, C, D", sorted(ca))
    for t, v in ca.items():
        if not isinstance(v, int) or isinstance(v, bool) or abs(v) > 3:
            _fail(where, f"tiers.credit_adjust.{t}", "an integer between -3 and 3", v)

    # sampling
    s = _mapping(where, pol, "sampling")
    fl = s.get("overall_floor")
    if not _num(fl) or not (0 <= fl <= 1):
        _fail(where, "sampling.overall_floor", "a share in [0, 1] (0.10 = 10 %)", fl)
    s["overall_floor"] = float(fl)
    s.setdefault("floor_action", "error")
    s.setdefault("floor_counts", "inspections")
    if s["floor_counts"] not in ("inspections", "institutions"):
        _fail(
            where,
            "sampling.floor_counts",
            "'inspections' (家次) or 'institutions' (distinct institutions, 家)",
            s["floor_counts"],
        )
    if s["floor_action"] not in ("error", "scale"):
        _fail(where, "sampling.floor_action", "'error' or 'scale'", s["floor_action"])
    cap = s.get("annual_cap")
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        _fail(where, "sampling.annual_cap", "an integer ≥ 1", cap)
    exempt = s.get("exempt", []) or []
    if not isinstance(exempt, list) or any(t not in TIERS for t in exempt):
        _fail(where, "sampling.exempt", "a list of tiers among A, B, C, D", exempt)
    s["exempt"] = list(exempt)
    if s.setdefault("unscored_tier", "B") not in TIERS:
        _fail(where, "sampling.unscored_tier", "one of A, B, C, D", s["unscored_tier"])
    tp = _mapping(where, s, "tier_probabilities")
    if set(tp) != set(TIERS):
        _fail(where, "sampling.tier_probabilities", "keys A, B, C, D", sorted(tp))
    for t in TIERS:
        p = tp[t]
        if not _num(p):
            _fail(where, f"sampling.tier_probabilities.{t}", "a number", p)
        if t in exempt:
            if p != 0:
                _fail(where, f"sampling.tier_probabilities.{t}", "0 for an exempt tier", p)
        elif not (0 < p <= cap):
            _fail(
                where,
                f"sampling.tier_probabilities.{t}",
                f"a rate in (0, annual_cap={cap}] (0 only if the tier is listed in sampling.exempt)",
                p,
            )
        tp[t] = float(p)

    design = s.get("design", "srs")
    if design not in DESIGNS:
        _fail(
            where,
            "sampling.design",
            "'srs' (stratified simple random sampling) or 'pips' (probability proportional to "
            "size within each tier, conditional Poisson)",
            design,
        )
    if design == "pips":
        sm = s.get("size_measure", "expected_loss")
        if sm not in SIZE_MEASURES:
            _fail(where, "sampling.size_measure", " or ".join(map(repr, SIZE_MEASURES)), sm)
        s["size_measure"] = sm
        sf = s.get("size_floor")
        if not _num(sf) or not (0 < sf <= 1):
            _fail(
                where,
                "sampling.size_floor",
                "a share in (0, 1] of the tier's mean size (keeps every π > 0)",
                sf,
            )
        s["size_floor"] = float(sf)

    # rounds and dates
    rounds = pol.get("rounds")
    if not isinstance(rounds, list) or not rounds:
        _fail(where, "rounds", "a non-empty list of {name, share, start, end}", rounds)
    total = 0.0
    names = set()
    for i, r in enumerate(rounds):
        k = f"rounds[{i}]"
        if not isinstance(r, dict):
            _fail(where, k, "a mapping {name, share, start, end}", r)
        if not isinstance(r.get("name"), str) or not r["name"].strip():
            _fail(where, f"{k}.name", "a non-empty string", r.get("name"))
        if r["name"] in names:
            _fail(where, f"{k}.name", "a unique round name", r["name"])
        names.add(r["name"])
        sh = r.get("share")
        if not _num(sh) or not (0 < sh <= 1):
            _fail(where, f"{k}.share", "a share in (0, 1]", sh)
        r["share"] = float(sh)
        total += sh
        r["start"] = _date(where, f"{k}.start", r.get("start"))
        r["end"] = _date(where, f"{k}.end", r.get("end"))
        if r["end"] < r["start"]:
            _fail(where, f"{k}.end", f"a date on or after start {r['start']}", r["end"])
    if abs(total - 1.0) > 1e-9:
        _fail(where, "rounds[*].share", "shares summing to 1", round(total, 6))
    if design == "pips":
        eff_cap = 1 if s["floor_counts"] == "institutions" else cap
        if len(rounds) > eff_cap:
            _fail(
                where,
                "sampling.design",
                f"at most {eff_cap} round(s) with design 'pips' (annual cap {eff_cap}"
                + (", floor_counts: institutions" if s["floor_counts"] == "institutions" else "")
                + "): the cap would exclude institutions from a later round and π would no "
                "longer be exactly known; use one round or design 'srs'",
                f"{len(rounds)} rounds",
            )
    pol["deadline"] = _date(where, "deadline", pol.get("deadline"))
    if "plan_due" in pol:
        pol["plan_due"] = _date(where, "plan_due", pol.get("plan_due"))
    for i, r in enumerate(rounds):
        if r["end"] > pol["deadline"]:
            _fail(
                where,
                f"rounds[{i}].end",
                f"a date on or before deadline {pol['deadline']}",
                r["end"],
            )

    # teams
    tm = _mapping(where, pol, "teams")
    ms = tm.get("min_size")
    if not isinstance(ms, int) or isinstance(ms, bool) or ms < 2:
        _fail(where, "teams.min_size", "an integer ≥ 2 (抽查计划2025 §二(一)3: 不少于2名)", ms)
    joint = tm.get("joint") or {"units": [], "min_per_unit": 2}
    if not isinstance(joint, dict):
        _fail(where, "teams.joint", "a mapping {units, min_per_unit}", joint)
    units = joint.get("units", []) or []
    if not isinstance(units, list) or len(set(map(str, units))) != len(units):
        _fail(where, "teams.joint.units", "a list of distinct unit codes", units)
    if len(units) == 1:
        _fail(
            where, "teams.joint.units", "at least two units for a joint inspection (or [])", units
        )
    mpu = joint.get("min_per_unit", 2)
    if not isinstance(mpu, int) or isinstance(mpu, bool) or mpu < 1:
        _fail(where, "teams.joint.min_per_unit", "an integer ≥ 1", mpu)
    joint["units"] = [str(u) for u in units]
    joint["min_per_unit"] = mpu
    tm["joint"] = joint
    rpt = tm.get("reserve_per_target", 3)
    if not isinstance(rpt, int) or isinstance(rpt, bool) or rpt < 1:
        _fail(where, "teams.reserve_per_target", "an integer ≥ 1", rpt)
    tm["reserve_per_target"] = rpt

    # inspectors
    ins = _mapping(where, pol, "inspectors")
    wc = ins.get("workload_cap_per_round")
    if not isinstance(wc, int) or isinstance(wc, bool) or wc < 1:
        _fail(where, "inspectors.workload_cap_per_round", "an integer ≥ 1", wc)
    for k in ("days_per_inspection", "days_available_per_year"):
        v = ins.get(k)
        if not _num(v) or v <= 0:
            _fail(where, f"inspectors.{k}", "a positive number of inspector-days", v)
        ins[k] = float(v)

    # items
    items = _mapping(where, pol, "items")
    lst = items.get("list", []) or []
    if not isinstance(lst, list):
        _fail(where, "items.list", "a list of items", lst)
    if not lst and not items.get("table"):
        _fail(where, "items", "a non-empty 'list' or a 'table' pointer (inspection_items)")
    seen = set()
    for i, it in enumerate(lst):
        k = f"items.list[{i}]"
        if not isinstance(it, dict):
            _fail(where, k, "a mapping", it)
        for f in ("item_id", "item_name", "content"):
            if not isinstance(it.get(f), str | int) or not str(it[f]).strip():
                _fail(where, f"{k}.{f}", "a non-empty value", it.get(f))
        it["item_id"] = str(it["item_id"])
        if it["item_id"] in seen:
            _fail(where, f"{k}.item_id", "a unique item id", it["item_id"])
        seen.add(it["item_id"])
        if it.get("item_class") not in ("key", "general"):
            _fail(
                where, f"{k}.item_class", "'key' (重点) or 'general' (一般)", it.get("item_class")
            )
    items["list"] = lst

    pub = pol.get("publication") or {}
    if not isinstance(pub, dict):
        _fail(where, "publication", "a mapping", pub)
    for k, dflt in (("inspector_names", False), ("show_pi", True)):
        v = pub.get(k, dflt)
        if not isinstance(v, bool):
            _fail(where, f"publication.{k}", "true or false", v)
        pub[k] = v
    pol["publication"] = pub

    sources = pol.get("sources")
    if not isinstance(sources, dict) or not sources:
        _fail(where, "sources", "a mapping of dotted key → source for every number")
    missing = [
        p
        for p in _numeric_paths(
            {k: v for k, v in pol.items() if k not in ("sources", "schema_version", "year")}
        )
        if not _has_source(p, sources)
    ]
    if missing:
        _fail(
            where,
            f"sources.{missing[0]}",
            "a source (plan article or 'riskscore default: why') for this number",
        )

    for t in pol["sampling"]["exempt"]:
        warnings.warn(
            f"{where}: tier {t} is exempt from the draw (π = 0): its institutions become invisible "
            "to every population estimate (Horvitz–Thompson/Hájek cannot weight a unit that can "
            "never be drawn); prefer a small floor probability",
            ExemptionWarning,
            stacklevel=3,
        )
    return pol


def load_policy(path: str | Path | None = None) -> dict:
    """Load and validate a policy file (抽查政策文件).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file, or the ``policy_id`` of a shipped policy. ``None`` gives the default
        shipped policy (``floor10_2025``). Earlier ids (``seed000_floor10`` …) are accepted.

    Returns
    -------
    dict
        Validated policy; ``policy["_path"]`` holds the file and ``policy["_sha256"]`` the
        SHA-256 of the file bytes.

    Raises
    ------
    PolicyError
        File missing or unreadable, YAML invalid, or a key missing/out of range (the message
        names the key).
    """
    if path is None:
        p = default_policy_path()
    else:
        p = Path(path)
        if not p.exists() and resolve_policy_id(str(path)) in shipped_policies():
            p = shipped_policies()[resolve_policy_id(str(path))]
    if not p.exists():
        raise PolicyError(f"{p}: policy file not found (shipped: {', '.join(shipped_policies())})")
    data = p.read_bytes()
    try:
        raw = yaml.safe_load(data.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PolicyError(f"{p}: not valid UTF-8 YAML ({first})") from None
    pol = validate_policy(raw, where=str(p.name))
    pol["_path"] = str(p)
    pol["_sha256"] = hashlib.sha256(data).hexdigest()
    return pol


def policy_canonical_json(policy: dict) -> str:
    """Canonical JSON of a validated policy (sorted keys, no private ``_`` keys)."""
    clean = {k: v for k, v in policy.items() if not k.startswith("_")}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def team_size(policy: dict) -> int:
    """Inspectors per target: ``max(min_size, min_per_unit × number of joint units)``."""
    tm = policy["teams"]
    joint = tm["joint"]
    return max(tm["min_size"], joint["min_per_unit"] * len(joint["units"]))


def effective_annual_cap(policy: dict) -> int:
    """Inspections of one institution per year in the regular draw (年度抽查上限).

    ``sampling.annual_cap``, or 1 when the floor counts distinct institutions
    (``sampling.floor_counts: institutions``): then no institution is drawn twice in a year,
    so the planned number of inspections *is* the number of distinct institutions inspected
    and the floor is met exactly, not only in expectation.
    """
    s = policy["sampling"]
    if s.get("floor_counts", "inspections") == "institutions":
        return 1
    return int(s["annual_cap"])
