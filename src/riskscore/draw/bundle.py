"""Files of a draw folder: canonical inputs, commitment, outputs, manifest, verification.

DRAW_DIR layout::

    commitment.json         published before the randomness is known (optional)
    inputs/                 canonical inputs (copied, hashed)
        frame_input.csv       fixmedins_code, tier, pi (this round), pi_annual (sampling frame)
        allocation.csv        tier, N_h, n_h                (this round)
        previous.csv          fixmedins_code, inspections   (earlier rounds this year)
        inspectors.csv        inspector_id, unit, cert_valid_until, status   (no names)
        names.csv             kind, id, name: public names shown in the draw notice
                              (institutions of the frame; inspectors only when the policy
                              publishes inspector names)
        conflicts.csv         inspector_id, fixmedins_code  (private: published only salted)
        conflicts_salt.txt    the salt (kept by the bureau, shown to auditors)
        policy.yaml           the policy file, byte for byte
        params.json           year, round, draw date, algorithm, code version
        randomness.txt        the public randomness text (written by `draw`)
    frame.csv, targets.csv, assignments.csv, reserve.csv     locked outputs
    manifest.json           hashes of inputs and outputs, randomness, π of every institution
    notices/draw_notice.csv, draw_notice.html   the public notice (re-rendered by verify)
    amendments.jsonl        logged amendments (hash chain), never edits of the outputs
    amendments_private.jsonl, assignments_current.csv   after amendments

All files are UTF-8 with ``\\n`` line ends and deterministic content, so re-running the draw
reproduces every byte. ``targets.csv``, ``assignments.csv``, ``reserve.csv`` and the notices
are for people (UTF-8 with BOM, text cells neutralised against formula injection by
:mod:`riskscore.outputs`); ``inputs/`` and ``frame.csv`` are for machines (plain UTF-8).
``verify`` refuses any other file in the folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from riskscore import __version__
from riskscore.draw.core import (
    DrawInputs,
    DrawResult,
    Inspector,
    inclusion_probabilities,
    matching_order,
    run_draw,
    select_targets,
)
from riskscore.draw.tickets import canonical_randomness, seed_from_randomness
from riskscore.errors import RiskscoreError, VerificationError
from riskscore.outputs import OutputLock, atomic_write_bytes, people_csv_bytes, unneutralise
from riskscore.policy import effective_annual_cap, sampling_design, team_size, validate_policy

ALGORITHM = (
    "riskscore-draw/1: stratified SRS by tier, lowest SHA-256 tickets; teams by lowest tickets"
)
ALGORITHM_PIPS = (
    "riskscore-draw/1-pips: conditional Poisson πps by tier (Poisson attempts on SHA-256 tickets "
    "against committed working probabilities, first attempt of size n_h); teams by lowest tickets"
)
INPUT_FILES = (
    "frame_input.csv",
    "allocation.csv",
    "previous.csv",
    "inspectors.csv",
    "conflicts.csv",
    "policy.yaml",
    "params.json",
    "names.csv",
)
OPTIONAL_INPUTS = ("names.csv",)
"""Inputs a folder drawn by an older version may lack (the manifest then does not list them)."""
OUTPUT_FILES = ("frame.csv", "targets.csv", "assignments.csv", "reserve.csv")
PEOPLE_OUTPUTS = ("targets.csv", "assignments.csv", "reserve.csv")
"""Outputs opened by people: UTF-8 with BOM and neutralised text cells."""
NOTICE_FILES = ("notices/draw_notice.csv", "notices/draw_notice.html")
DRAW_FILES = frozenset(
    {
        "commitment.json",
        "manifest.json",
        *OUTPUT_FILES,
        *NOTICE_FILES,
        "amendments.jsonl",
        "amendments_private.jsonl",
        "assignments_current.csv",
        *(f"inputs/{n}" for n in INPUT_FILES),
        "inputs/conflicts_salt.txt",
        "inputs/randomness.txt",
    }
)
"""Every file a draw folder may hold; ``verify`` names any other file and fails."""


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """Deterministic CSV: UTF-8, ``\\n`` line ends, minimal quoting, floats via ``repr``."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([repr(v) if isinstance(v, float) else v for v in r])
    return buf.getvalue().encode("utf-8")


def json_bytes(obj: dict) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode("utf-8")


def read_csv_bytes(b: bytes, name: str, columns: list[str]) -> list[dict]:
    """Rows of a draw CSV (a BOM and neutralising ``'`` prefixes are undone)."""
    try:
        text = b.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VerificationError(f"{name}: not UTF-8") from None
    rows = [{k: unneutralise(v) for k, v in r.items()} for r in csv.DictReader(io.StringIO(text))]
    if rows and any(c not in rows[0] for c in columns):
        raise VerificationError(f"{name}: expected columns {', '.join(columns)}")
    return rows


def salted_conflicts_sha(conflicts: bytes, salt: str) -> str:
    """SHA-256 of salt ‖ conflicts.csv: publishable without revealing who is recused."""
    return sha256_bytes(salt.encode("utf-8") + b"\n" + conflicts)


# --------------------------------------------------------------------------- building inputs
@dataclass
class InputFiles:
    """Canonical input files as bytes (name → bytes) plus the conflicts salt."""

    files: dict[str, bytes | None]
    salt: str | None

    @property
    def public(self) -> bool:
        """True for a public copy: the private conflict list and its salt are absent."""
        return self.files.get("conflicts.csv") is None

    def hashes(self) -> dict[str, str]:
        """``inputs/<name> → sha256`` (conflicts salted; left out of a public copy)."""
        out = {}
        for name in INPUT_FILES:
            b = self.files[name]
            if b is None:
                continue
            if name == "conflicts.csv":
                out[f"inputs/{name}"] = "salted:" + salted_conflicts_sha(b, self.salt)
            else:
                out[f"inputs/{name}"] = sha256_bytes(b)
        return out


def _round_of(policy: dict, round_arg: str | int | None) -> tuple[int, dict]:
    rounds = policy["rounds"]
    if round_arg is None:
        return 1, rounds[0]
    s = str(round_arg).strip()
    if s.isdigit() and 1 <= int(s) <= len(rounds):
        return int(s), rounds[int(s) - 1]
    for i, r in enumerate(rounds):
        if r["name"] == s:
            return i + 1, r
    names = ", ".join(f"{i + 1}={r['name']}" for i, r in enumerate(rounds))
    raise RiskscoreError(f"--round {s!r}: unknown round; the policy has {names}")


def previous_counts(previous_dirs: list[Path] | None) -> dict[str, int]:
    """Inspections per institution in earlier rounds' draw folders (their targets.csv)."""
    counts: dict[str, int] = {}
    for d in previous_dirs or []:
        p = Path(d) / "targets.csv"
        if not p.exists():
            raise RiskscoreError(f"{p}: missing; --previous must name earlier draw folders")
        for r in read_csv_bytes(p.read_bytes(), str(p), ["fixmedins_code"]):
            counts[r["fixmedins_code"]] = counts.get(r["fixmedins_code"], 0) + 1
    return counts


def build_inputs(
    plan_dir: str | Path,
    data_dir: str | Path | None = None,
    round_arg: str | int | None = None,
    draw_date: str | None = None,
    previous_dirs: list[Path] | None = None,
    salt: str | None = None,
) -> InputFiles:
    """Canonical input files from a plan folder and the registries (inspectors, conflicts).

    Parameters
    ----------
    plan_dir : path
        Output of ``riskscore plan``.
    data_dir : path, optional
        Data folder with ``inspectors`` and ``conflicts``; default: the plan's data folder.
    round_arg : int or str, optional
        Round index (1-based) or name; default the first round.
    draw_date : str, optional
        ISO date deciding certificate validity; default the round's start date.
    previous_dirs : list of path, optional
        Earlier rounds' draw folders (annual cap).
    salt : str, optional
        Salt for the published conflict hash; default a fresh random token.

    Returns
    -------
    InputFiles
    """
    from riskscore.plan import load_plan

    plan_dir = Path(plan_dir)
    summary, inc, policy = load_plan(plan_dir)
    idx, rnd = _round_of(policy, round_arg)
    if data_dir is None:
        data_dir = summary.get("data_dir")
        if not data_dir or not Path(data_dir).exists():
            raise RiskscoreError(
                f"{plan_dir / 'plan.json'}: data folder {data_dir!r} not found; pass --data DIR "
                "(inspectors and conflicts registries)"
            )
    data_dir = Path(data_dir)
    from riskscore.io import load_table

    ins = load_table(data_dir, "inspectors")
    if ins is None:
        raise RiskscoreError(
            f"{data_dir}: no inspectors table (执法检查人员名录库); the draw needs it"
        )
    conf = load_table(data_dir, "conflicts")
    inst = load_table(data_dir, "institutions")

    frame = inc[inc["in_frame"].astype(int) == 1].sort_values("fixmedins_code")
    strata = summary["strata"]
    pips = sampling_design(policy) == "pips"
    if pips:
        f_header, f_rows = _pips_frame_rows(frame, strata, idx)
    else:
        pi_round = {
            t: (strata[t]["n_h_rounds"][idx - 1] / strata[t]["N_h"]) if strata[t]["N_h"] else 0.0
            for t in strata
        }
        f_header = ["fixmedins_code", "tier", "pi", "pi_annual"]
        f_rows = [
            [c, t, float(pi_round[t]), float(pa)]
            for c, t, pa in zip(frame["fixmedins_code"], frame["tier"], frame["pi"], strict=True)
        ]
    a_rows = [
        [t, int(strata[t]["N_h"]), int(strata[t]["n_h_rounds"][idx - 1])] for t in sorted(strata)
    ]
    prev = previous_counts(previous_dirs)
    p_rows = [[c, n] for c, n in sorted(prev.items())]
    i_rows = []
    for r in ins.sort_values("inspector_id").itertuples(index=False):
        until = r.cert_valid_until
        until_s = "" if until is None or str(until) in ("NaT", "nan", "<NA>") else str(until)[:10]
        status = "" if str(r.status) in ("nan", "<NA>") else str(r.status)
        i_rows.append([str(r.inspector_id), str(r.unit), until_s, status])
    c_rows = []
    if conf is not None:
        c_rows = sorted(
            {
                (str(a), str(b))
                for a, b in zip(conf["inspector_id"], conf["fixmedins_code"], strict=True)
            }
        )
    frame_codes = set(frame["fixmedins_code"].astype(str))
    n_rows = []
    if inst is not None and "fixmedins_name" in inst.columns:
        for c, nm in zip(inst["fixmedins_code"], inst["fixmedins_name"], strict=True):
            if str(c) in frame_codes:
                n_rows.append(["institution", str(c), "" if _na(nm) else str(nm)])
    if policy["publication"]["inspector_names"] and "inspector_name" in ins.columns:
        for i, nm in zip(ins["inspector_id"], ins["inspector_name"], strict=True):
            n_rows.append(["inspector", str(i), "" if _na(nm) else str(nm)])
    n_rows.sort()
    params = {
        "algorithm": ALGORITHM_PIPS if pips else ALGORITHM,
        "code_version": __version__,
        "year": int(policy["year"]),
        "round_index": idx,
        "round_name": rnd["name"],
        "round_start": rnd["start"],
        "round_end": rnd["end"],
        "draw_date": draw_date or rnd["start"],
        "policy_id": policy["policy_id"],
    }
    files = {
        "frame_input.csv": csv_bytes(f_header, f_rows),
        "allocation.csv": csv_bytes(["tier", "N_h", "n_h"], a_rows),
        "previous.csv": csv_bytes(["fixmedins_code", "inspections"], p_rows),
        "inspectors.csv": csv_bytes(["inspector_id", "unit", "cert_valid_until", "status"], i_rows),
        "conflicts.csv": csv_bytes(["inspector_id", "fixmedins_code"], [list(x) for x in c_rows]),
        "policy.yaml": (plan_dir / "policy.yaml").read_bytes(),
        "params.json": json_bytes(params),
        "names.csv": csv_bytes(["kind", "id", "name"], n_rows),
    }
    return InputFiles(files=files, salt=salt or secrets.token_hex(16))


PIPS_FRAME_COLUMNS = ["fixmedins_code", "tier", "pi", "pi_annual", "p_work"]
"""``inputs/frame_input.csv`` of a pips draw: π of this round (exact), the annual π and the
working probability the tickets are compared with (the size measure itself — expected loss —
stays in the plan folder)."""


def _pips_frame_rows(frame, strata: dict, idx: int) -> tuple[list[str], list[list]]:
    """frame_input.csv rows of a pips round: π and working probabilities per tier."""
    from riskscore.pips import design_stratum

    rows = []
    for t in sorted(strata):
        sub = frame[frame["tier"].astype(str) == t].sort_values("fixmedins_code")
        if not len(sub):
            continue
        x = sub["size"].to_numpy(dtype=float)
        pi, p = design_stratum(x, int(strata[t]["n_h_rounds"][idx - 1]))
        rows += [
            [c, t, float(a), float(pa), float(pp)]
            for c, a, pa, pp in zip(sub["fixmedins_code"], pi, sub["pi"], p, strict=True)
        ]
    rows.sort(key=lambda r: r[0])
    return PIPS_FRAME_COLUMNS, rows


def _check_pips_frame(f_rows: list[dict], n_round: dict, sizes: dict) -> tuple[dict, dict]:
    """Working probabilities and π of a pips frame_input.csv, checked: π recomputed from the
    working probabilities (Chen–Dempster–Liu) within 1e-9 and Σ π = n_h per tier."""
    import numpy as np

    from riskscore.pips import cps_inclusion

    work, pis = {}, {}
    by: dict[str, list[dict]] = {}
    for r in f_rows:
        by.setdefault(r["tier"], []).append(r)
    for t, rows in by.items():
        try:
            p = np.array([float(r["p_work"]) for r in rows])
            pi = np.array([float(r["pi"]) for r in rows])
        except (KeyError, ValueError):
            raise VerificationError(
                "inputs/frame_input.csv: columns 'pi' and 'p_work' must be numbers (pips design)"
            ) from None
        n = n_round.get(t, 0)
        if t not in sizes or np.any(p <= 0) or np.any(p > 1):
            raise VerificationError(
                f"inputs/frame_input.csv: p_work of tier {t} must lie in (0, 1] (pips design)"
            )
        again = cps_inclusion(p, n)
        bad = np.flatnonzero(np.abs(again - pi) > 1e-9)
        if len(bad) or abs(pi.sum() - n) > 1e-9:
            code = rows[int(bad[0])]["fixmedins_code"] if len(bad) else t
            raise VerificationError(
                f"inputs/frame_input.csv: pi of {code} differs from the conditional Poisson π "
                "of the working probabilities p_work (pips design)"
            )
        for r, a, b in zip(rows, p, pi, strict=True):
            work[r["fixmedins_code"]] = float(a)
            pis[r["fixmedins_code"]] = float(b)
    return work, pis


def _na(v) -> bool:
    return v is None or str(v) in ("nan", "<NA>", "NaT", "None")


def read_inputs(draw_dir: Path) -> InputFiles:
    d = Path(draw_dir) / "inputs"
    files: dict[str, bytes | None] = {}
    salt_p = d / "conflicts_salt.txt"
    if not (d / "conflicts.csv").exists() and not salt_p.exists():
        files["conflicts.csv"] = None  # a public copy: the private conflict list is withheld
    for name in INPUT_FILES:
        p = d / name
        if name in files:
            continue
        if not p.exists() and name in OPTIONAL_INPUTS:
            files[name] = None
            continue
        if not p.exists():
            raise VerificationError(f"inputs/{name}: missing from {draw_dir}")
        files[name] = p.read_bytes()
    if files["conflicts.csv"] is None:
        return InputFiles(files=files, salt=None)
    if not salt_p.exists():
        raise VerificationError(
            "inputs/conflicts_salt.txt: missing (needed to check the conflicts hash)"
        )
    try:
        salt_txt = salt_p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("inputs/conflicts_salt.txt: not UTF-8") from None
    if not salt_txt.endswith("\n") or "\n" in salt_txt[:-1] or not salt_txt[:-1]:
        raise VerificationError("inputs/conflicts_salt.txt: expected one line (the salt)")
    return InputFiles(files=files, salt=salt_txt[:-1])


def write_inputs(draw_dir: Path, inputs: InputFiles) -> None:
    d = Path(draw_dir) / "inputs"
    d.mkdir(parents=True, exist_ok=True)
    for name, b in inputs.files.items():
        if b is not None:
            atomic_write_bytes(d / name, b)
    atomic_write_bytes(d / "conflicts_salt.txt", (inputs.salt + "\n").encode("utf-8"))


def parse_inputs(inputs: InputFiles) -> tuple[DrawInputs, dict, dict]:
    """Files → (DrawInputs, params, policy)."""
    f = inputs.files
    params = json.loads(f["params.json"].decode("utf-8"))
    try:
        raw = yaml.safe_load(f["policy.yaml"].decode("utf-8-sig"))
    except yaml.YAMLError:
        raise VerificationError("inputs/policy.yaml: not valid YAML") from None
    policy = validate_policy(raw, "inputs/policy.yaml")
    f_rows = read_csv_bytes(
        f["frame_input.csv"], "inputs/frame_input.csv", ["fixmedins_code", "tier", "pi"]
    )
    frame = {r["fixmedins_code"]: r["tier"] for r in f_rows}
    alloc = read_csv_bytes(f["allocation.csv"], "inputs/allocation.csv", ["tier", "N_h", "n_h"])
    n_round = {r["tier"]: int(r["n_h"]) for r in alloc}
    sizes = {r["tier"]: int(r["N_h"]) for r in alloc}
    pips = sampling_design(policy) == "pips"
    work, pis = _check_pips_frame(f_rows, n_round, sizes) if pips else ({}, {})
    for r in f_rows:
        t = r["tier"]
        if pips:
            if t not in sizes:
                raise VerificationError(
                    f"inputs/frame_input.csv: tier {t} of {r['fixmedins_code']} is not in "
                    "inputs/allocation.csv"
                )
            continue
        if t not in sizes or float(r["pi"]) != (n_round[t] / sizes[t] if sizes[t] else 0.0):
            raise VerificationError(
                f"inputs/frame_input.csv: pi of {r['fixmedins_code']} differs from "
                "n_h / N_h in inputs/allocation.csv"
            )
    for t, n in sizes.items():
        if n != sum(1 for v in frame.values() if v == t):
            raise VerificationError(
                f"inputs/allocation.csv: N_h of tier {t} differs from inputs/frame_input.csv"
            )
    previous = {
        r["fixmedins_code"]: int(r["inspections"])
        for r in read_csv_bytes(
            f["previous.csv"], "inputs/previous.csv", ["fixmedins_code", "inspections"]
        )
    }
    inspectors = [
        Inspector(r["inspector_id"], r["unit"], r["cert_valid_until"], r["status"])
        for r in read_csv_bytes(
            f["inspectors.csv"],
            "inputs/inspectors.csv",
            ["inspector_id", "unit", "cert_valid_until", "status"],
        )
    ]
    conflicts = (
        set()
        if f["conflicts.csv"] is None
        else {
            (r["inspector_id"], r["fixmedins_code"])
            for r in read_csv_bytes(
                f["conflicts.csv"], "inputs/conflicts.csv", ["inspector_id", "fixmedins_code"]
            )
        }
    )
    joint = policy["teams"]["joint"]
    inp = DrawInputs(
        year=int(params["year"]),
        round_index=int(params["round_index"]),
        round_name=params["round_name"],
        draw_date=params["draw_date"],
        frame=frame,
        n_round=n_round,
        previous=previous,
        annual_cap=effective_annual_cap(policy),
        inspectors=inspectors,
        conflicts=conflicts,
        team_size=team_size(policy),
        joint_units=list(joint["units"]),
        min_per_unit=joint["min_per_unit"],
        workload_cap=policy["inspectors"]["workload_cap_per_round"],
        reserve_per_target=policy["teams"]["reserve_per_target"],
        design="pips" if pips else "srs",
        work_prob=work,
        pi_round=pis,
    )
    return inp, params, policy


# --------------------------------------------------------------------------- commitment
def commitment_record(inputs: InputFiles, source: str, fallback: str) -> dict:
    """The commitment (承诺): hashes of the canonical inputs and the named future randomness."""
    params = json.loads(inputs.files["params.json"].decode("utf-8"))
    body = {
        "format": "riskscore-commitment/1",
        "algorithm": params.get("algorithm", ALGORITHM),
        "code_version": params["code_version"],
        "policy_id": params["policy_id"],
        "year": params["year"],
        "round_index": params["round_index"],
        "round_name": params["round_name"],
        "draw_date": params["draw_date"],
        "inputs": inputs.hashes(),
        "randomness_source": source,
        "randomness_fallback": fallback,
        "canonicalisation": "RFC 3797 §4: numbers of each source sorted ascending, each followed by '.', each source followed by '/'; drand: 64-hex randomness",
    }
    body["commitment_sha256"] = sha256_bytes(json_bytes(body))
    return body


def write_commitment(draw_dir: Path, inputs: InputFiles, source: str, fallback: str) -> dict:
    draw_dir = Path(draw_dir)
    if (draw_dir / "manifest.json").exists():
        raise RiskscoreError(f"{draw_dir}: already drawn (manifest.json exists); use a new folder")
    if not source.strip():
        raise RiskscoreError("--randomness-source: name the future public randomness")
    with OutputLock(draw_dir, "riskscore commit"):
        write_inputs(draw_dir, inputs)
        rec = commitment_record(inputs, source, fallback)
        atomic_write_bytes(draw_dir / "commitment.json", json_bytes(rec))
    return rec


def check_commitment(rec: dict, inputs: InputFiles, where: str = "commitment.json") -> None:
    """Raise VerificationError naming the first input whose hash differs from the commitment."""
    body = {k: v for k, v in rec.items() if k != "commitment_sha256"}
    if sha256_bytes(json_bytes(body)) != rec.get("commitment_sha256"):
        raise VerificationError(f"{where}: commitment_sha256 does not match its content")
    now = inputs.hashes()
    if inputs.public and "inputs/conflicts.csv" in rec.get("inputs", {}):
        now["inputs/conflicts.csv"] = rec["inputs"]["inputs/conflicts.csv"]
    for name, h in rec["inputs"].items():
        if now.get(name) != h:
            raise VerificationError(
                f"{name}: sha256 differs from the commitment ({where}) — the inputs changed after commit"
            )
    extra = set(now) - set(rec["inputs"])
    if extra:
        raise VerificationError(f"{sorted(extra)[0]}: not in the commitment ({where})")


# --------------------------------------------------------------------------- outputs
def render_outputs(inp: DrawInputs, res: DrawResult) -> dict[str, bytes]:
    """The four locked output files as bytes."""
    probs = inclusion_probabilities(inp)
    chosen = {c for codes in res.selected.values() for c in codes}
    pos = {c: i + 1 for i, c in enumerate(res.order)}
    team_id = {c: f"R{inp.round_index}-T{pos[c]:03d}" for c in res.order}
    frame_rows = []
    for code in sorted(inp.frame):
        tier = inp.frame[code]
        st = res.strata[tier]
        pi, pic, ok = probs[code]
        frame_rows.append(
            [
                code,
                tier,
                tier,
                st["N_h"],
                st["n_h"],
                pi,
                int(code in chosen),
                inp.round_index,
                int(ok),
                st["N_h_eligible"],
                pic,
                inp.previous.get(code, 0),
                *(["pips"] if inp.design == "pips" else []),
            ]
        )
    frame = csv_bytes(
        [
            "fixmedins_code",
            "tier",
            "stratum",
            "N_h",
            "n_h",
            "pi",
            "selected",
            "round",
            "eligible",
            "N_h_eligible",
            "pi_conditional",
            "prior_inspections",
            *(["design"] if inp.design == "pips" else []),
        ],
        frame_rows,
    )
    t_rows = []
    for code in res.order:
        tier = inp.frame[code]
        pi, pic, _ = probs[code]
        t_rows.append(
            [
                code,
                tier,
                pi,
                inp.round_index,
                inp.round_name,
                pos[code],
                team_id[code],
                pic,
                f"{res.target_tickets[code]:064x}",
            ]
        )
    targets = people_csv_bytes(
        [
            "fixmedins_code",
            "tier",
            "pi",
            "round",
            "round_name",
            "order",
            "team_id",
            "pi_conditional",
            "ticket",
        ],
        t_rows,
    )
    unit = {i.inspector_id: i.unit for i in inp.inspectors}
    a_rows, r_rows = [], []
    for code in res.order:
        for s, iid in enumerate(res.teams[code], start=1):
            a_rows.append(
                [
                    code,
                    inp.round_index,
                    team_id[code],
                    s,
                    "leader" if s == 1 else "member",
                    iid,
                    unit[iid],
                ]
            )
        for rank, iid in enumerate(res.reserve[code], start=1):
            r_rows.append([code, inp.round_index, team_id[code], rank, iid, unit[iid]])
    assignments = people_csv_bytes(
        ["fixmedins_code", "round", "team_id", "seat", "role", "inspector_id", "unit"], a_rows
    )
    reserve = people_csv_bytes(
        ["fixmedins_code", "round", "team_id", "rank", "inspector_id", "unit"], r_rows
    )
    return {
        "frame.csv": frame,
        "targets.csv": targets,
        "assignments.csv": assignments,
        "reserve.csv": reserve,
    }


def build_manifest(
    inputs: InputFiles,
    randomness: str,
    outputs: dict[str, bytes],
    inp: DrawInputs,
    params: dict,
    policy_sha: str,
    commitment: dict | None,
    conflicts_hash: str | None = None,
) -> dict:
    probs = inclusion_probabilities(inp)
    rnd_bytes = randomness.encode("utf-8")
    frame_rows = read_csv_bytes(outputs["frame.csv"], "frame.csv", ["tier", "selected"])
    by_tier: dict[str, dict[str, int]] = {}
    for r in frame_rows:
        d = by_tier.setdefault(r["tier"], {"N_h": 0, "selected": 0})
        d["N_h"] += 1
        d["selected"] += int(r["selected"])
    return {
        "format": "riskscore-draw-manifest/1",
        "algorithm": params.get("algorithm", ALGORITHM),
        "code_version": params["code_version"],
        "policy": {"policy_id": params["policy_id"], "sha256": policy_sha},
        "year": params["year"],
        "round": {
            "index": params["round_index"],
            "name": params["round_name"],
            "start": params["round_start"],
            "end": params["round_end"],
        },
        "draw_date": params["draw_date"],
        "randomness": {
            "text": randomness,
            "text_sha256": sha256_bytes(rnd_bytes),
            "canonical": canonical_randomness(randomness),
            "seed_sha256": seed_from_randomness(randomness).hex(),
            "source": commitment.get("randomness_source") if commitment else None,
            "fallback": commitment.get("randomness_fallback") if commitment else None,
        },
        "commitment_sha256": commitment.get("commitment_sha256") if commitment else None,
        "inputs": {
            **inputs.hashes(),
            **({"inputs/conflicts.csv": conflicts_hash} if conflicts_hash else {}),
            "inputs/randomness.txt": sha256_bytes(rnd_bytes),
        },
        "outputs": {name: sha256_bytes(b) for name, b in sorted(outputs.items())},
        "counts": {
            "frame": len(frame_rows),
            "selected": sum(d["selected"] for d in by_tier.values()),
            "by_tier": by_tier,
            "at_annual_cap": sum(1 for v in probs.values() if not v[2]),
        },
        "pi": {code: probs[code][0] for code in sorted(probs)},
    }


def compute_draw(
    inputs: InputFiles,
    randomness: str,
    commitment: dict | None,
    teams_from: Path | None = None,
    conflicts_hash: str | None = None,
):
    """Inputs + randomness → (outputs bytes, manifest dict, DrawInputs, DrawResult).

    For a public copy (no conflict list) only the targets are re-drawn; ``teams_from`` then
    names the draw folder whose ``assignments.csv`` and ``reserve.csv`` are taken as they are
    (their hashes are still checked against the manifest).
    """
    inp, params, _policy = parse_inputs(inputs)
    seed = seed_from_randomness(randomness)
    if inputs.public:
        if teams_from is None:
            raise VerificationError("inputs/conflicts.csv: missing; teams cannot be re-drawn")
        strata, selected, tix = select_targets(seed, inp)
        order = matching_order(seed, inp, selected)
        res = DrawResult(
            strata=strata,
            selected=selected,
            order=order,
            teams={c: [] for c in order},
            reserve={c: [] for c in order},
            target_tickets=tix,
        )
        outputs = render_outputs(inp, res)
        for name in ("assignments.csv", "reserve.csv"):
            p = Path(teams_from) / name
            if not p.exists():
                raise VerificationError(f"{name}: missing")
            outputs[name] = p.read_bytes()
    else:
        res = run_draw(seed, inp)
        outputs = render_outputs(inp, res)
    manifest = build_manifest(
        inputs,
        randomness,
        outputs,
        inp,
        params,
        sha256_bytes(inputs.files["policy.yaml"]),
        commitment,
        conflicts_hash if inputs.public else None,
    )
    return outputs, manifest, inp, res


def write_draw(
    draw_dir: Path,
    inputs: InputFiles,
    randomness: str,
    commitment: dict | None,
    lang: str = "zh",
) -> dict:
    """Run the draw and write inputs, outputs, manifest.json and the notices; returns the manifest.

    Each file is written atomically; ``manifest.json`` (which lists every output's SHA-256)
    is written after the outputs, the notices last. A lock refuses a second concurrent run.
    """
    from riskscore.draw.notices import draw_notice

    draw_dir = Path(draw_dir)
    if (draw_dir / "manifest.json").exists():
        raise RiskscoreError(
            f"{draw_dir}: already drawn (manifest.json exists); outputs are locked — use "
            "`riskscore amend` for changes or a new folder for a new round"
        )
    outputs, manifest, _inp, _res = compute_draw(inputs, randomness, commitment)
    with OutputLock(draw_dir, "riskscore draw"):
        if (draw_dir / "manifest.json").exists():
            raise RiskscoreError(f"{draw_dir}: already drawn (manifest.json exists)")
        write_inputs(draw_dir, inputs)
        atomic_write_bytes(draw_dir / "inputs" / "randomness.txt", randomness.encode("utf-8"))
        for name, b in outputs.items():
            atomic_write_bytes(draw_dir / name, b)
        atomic_write_bytes(draw_dir / "manifest.json", json_bytes(manifest))
        draw_notice(draw_dir, draw_dir / "notices", lang=lang)
    return manifest


# --------------------------------------------------------------------------- verify
def check_no_extra_files(d: Path) -> None:
    """Fail naming the first file or folder of DRAW_DIR that a draw does not write."""
    from riskscore.outputs import LOCK_NAME

    for p in sorted(Path(d).rglob("*")):
        rel = p.relative_to(d).as_posix()
        if p.is_dir() and not p.is_symlink():
            if rel not in ("inputs", "notices"):
                raise VerificationError(f"{rel}/: unexpected folder in the draw folder")
            continue
        if p.name == LOCK_NAME:
            raise VerificationError(f"{rel}: a run is writing this draw folder or was interrupted")
        if rel not in DRAW_FILES or p.is_symlink():
            raise VerificationError(
                f"{rel}: unexpected file in the draw folder (not written by commit, draw or amend)"
            )


def check_notices(d: Path) -> str:
    """Re-render the draw notice from the folder and compare both files byte for byte.

    Returns the notice language (``zh`` or ``en``).
    """
    from riskscore.draw.notices import draw_notice_bytes

    for name in NOTICE_FILES:
        if not (d / name).is_file():
            raise VerificationError(f"{name}: missing (the public draw notice)")
    on_disk = {Path(n).name: (d / n).read_bytes() for n in NOTICE_FILES}
    best = None
    for lang in ("zh", "en"):
        exp = draw_notice_bytes(d, lang)
        diff = [n for n in NOTICE_FILES if exp[Path(n).name] != on_disk[Path(n).name]]
        if not diff:
            return lang
        if best is None or len(diff) < len(best):
            best = diff
    raise VerificationError(
        f"{best[0]}: differs from the notice re-rendered from the draw (targets, teams, "
        "amendment chain, manifest)"
    )


def verify_draw(
    draw_dir: str | Path, allow_uncommitted: bool = False, head: str | None = None
) -> dict:
    """Re-run the draw from DRAW_DIR/inputs and the recorded randomness; compare every byte.

    Every file of the folder is covered: inputs, commitment, randomness, outputs, manifest,
    amendment chain (timestamps included), current teams and the public notices (re-rendered
    and compared byte for byte); any other file fails.

    Parameters
    ----------
    draw_dir : path
    allow_uncommitted : bool
        Accept a draw without ``commitment.json`` (the caller must say so loudly).
    head : str, optional
        The amendment-chain head hash the public holds (from the published notice); the
        folder's chain must end there.

    Returns
    -------
    dict
        The manifest, when everything matches.

    Raises
    ------
    VerificationError
        One line naming the file / hash that differs.
    """
    from riskscore.draw.amend import verify_amendments

    d = Path(draw_dir)
    mp = d / "manifest.json"
    if not mp.exists():
        raise VerificationError(f"{mp}: missing (not a draw folder?)")
    raw = mp.read_bytes()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise VerificationError("manifest.json: not valid UTF-8 JSON") from None
    check_no_extra_files(d)
    inputs = read_inputs(d)
    rp = d / "inputs" / "randomness.txt"
    if not rp.exists():
        raise VerificationError("inputs/randomness.txt: missing")
    try:
        randomness = rp.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("inputs/randomness.txt: not UTF-8") from None
    recorded = manifest.get("inputs", {})
    now = {**inputs.hashes(), "inputs/randomness.txt": sha256_bytes(rp.read_bytes())}
    if inputs.public and "inputs/conflicts.csv" in recorded:
        now["inputs/conflicts.csv"] = recorded["inputs/conflicts.csv"]
    for name in sorted(set(recorded) | set(now)):
        if recorded.get(name) != now.get(name):
            if name == "inputs/conflicts.csv":
                raise VerificationError(
                    "inputs/conflicts.csv (salted with inputs/conflicts_salt.txt): sha256 "
                    "differs from manifest.json"
                )
            if name not in now:
                raise VerificationError(f"{name}: missing (manifest.json lists it)")
            raise VerificationError(f"{name}: sha256 differs from manifest.json")
    if manifest.get("randomness", {}).get("text") != randomness:
        raise VerificationError("manifest.json: randomness text differs from inputs/randomness.txt")
    commitment = None
    cp = d / "commitment.json"
    if cp.exists():
        try:
            commitment = json.loads(cp.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise VerificationError("commitment.json: not valid UTF-8 JSON") from None
        if json_bytes(commitment) != cp.read_bytes():
            raise VerificationError("commitment.json: bytes differ from its canonical form")
        check_commitment(commitment, inputs)
        if manifest.get("commitment_sha256") != commitment.get("commitment_sha256"):
            raise VerificationError("commitment.json: commitment_sha256 differs from manifest.json")
    elif manifest.get("commitment_sha256"):
        raise VerificationError("commitment.json: missing but manifest.json records a commitment")
    elif not allow_uncommitted:
        raise VerificationError(
            "commitment.json: missing — no commitment was published before the randomness was "
            "known; give --allow-uncommitted to check the rest anyway"
        )
    outputs, expected, _inp, _res = compute_draw(
        inputs,
        randomness,
        commitment,
        teams_from=d,
        conflicts_hash=recorded.get("inputs/conflicts.csv"),
    )
    for name, b in outputs.items():
        p = d / name
        if not p.exists():
            raise VerificationError(f"{name}: missing")
        if sha256_bytes(p.read_bytes()) != sha256_bytes(b):
            raise VerificationError(f"{name}: differs from the re-computed draw (sha256 mismatch)")
        if manifest.get("outputs", {}).get(name) != sha256_bytes(b):
            raise VerificationError(f"manifest.json: outputs hash of {name} differs")
    exp_bytes = json_bytes(expected)
    if exp_bytes != raw:
        for key in expected:
            if expected[key] != manifest.get(key):
                raise VerificationError(
                    f"manifest.json: field '{key}' differs from the re-computed draw"
                )
        raise VerificationError(
            "manifest.json: bytes differ from the canonical re-computed manifest"
        )
    verify_amendments(d, manifest)
    check_notices(d)
    if head is not None:
        from riskscore.draw.amend import chain_head

        n, h = chain_head(d)
        if h != head.strip().lower():
            raise VerificationError(
                f"amendments.jsonl: chain head {h} ({n} amendment(s)) is not the published {head}"
            )
    return manifest
