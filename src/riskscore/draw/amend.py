"""Amendments (变更记录): replacements from the published reserve list (递补), never edits.

``amend`` appends one JSON line to ``DRAW_DIR/amendments.jsonl``::

    {"seq", "timestamp", "round", "fixmedins_code", "team_id", "removed", "added", "added_unit",
     "reserve_rank", "reason_code", "reason_sha256", "skipped": [{"inspector_id", "why"}],
     "prev_hash", "hash"}

The free-text reason may hold personal data (an inspector's illness): it is kept in
``amendments_private.jsonl`` (``{"seq", "nonce", "reason"}``) and the public line carries only
``reason_sha256 = SHA-256(nonce "\\n" reason)``; ``verify`` checks the two agree when the private
file is present.

``prev_hash`` of the first line is the SHA-256 of ``manifest.json``; ``hash`` is the SHA-256 of
the line's canonical JSON without ``hash``. The replacement is the first entry of the target's
published reserve list that is not already in the team, was not declared unavailable for this
target, is below the workload cap (counting earlier amendments) and, in a joint inspection,
keeps every unit's quota. The locked outputs are never rewritten; the current teams are
re-derived (``assignments_current.csv``) and checked by ``verify``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import secrets
from pathlib import Path

from riskscore.errors import RiskscoreError, VerificationError
from riskscore.outputs import atomic_write_bytes

PRIVATE_LOG = "amendments_private.jsonl"
"""Free-text reasons with their nonces (internal; the public log holds only their SHA-256)."""

REASON_CODES = {
    "unavailable": "因客观原因无法参加检查 unable to attend",
    "recusal": "与检查对象有利害关系，依法回避 conflict of interest (recusal)",
    "illness": "因病无法参加 illness",
    "other": "其他 other",
}
"""Reason codes for a replacement (递补原因)."""


def _canon(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode(
        "utf-8"
    )


def _rows(path: Path) -> list[dict]:
    from riskscore.draw.bundle import read_csv_bytes

    if not path.exists():
        raise VerificationError(f"{path.name}: missing")
    return read_csv_bytes(path.read_bytes(), path.name, ["fixmedins_code", "inspector_id"])


class _State:
    def __init__(self, d: Path):
        from riskscore.draw.bundle import parse_inputs, read_inputs

        self.inp, _params, _policy = parse_inputs(read_inputs(d))
        self.teams: dict[str, list[str]] = {}
        self.team_id: dict[str, str] = {}
        self.unit: dict[str, str] = {i.inspector_id: i.unit for i in self.inp.inspectors}
        for r in _rows(d / "assignments.csv"):
            self.teams.setdefault(r["fixmedins_code"], []).append(r["inspector_id"])
            self.team_id[r["fixmedins_code"]] = r["team_id"]
        self.reserve: dict[str, list[str]] = {}
        for r in sorted(
            _rows(d / "reserve.csv"), key=lambda r: (r["fixmedins_code"], int(r["rank"]))
        ):
            self.reserve.setdefault(r["fixmedins_code"], []).append(r["inspector_id"])
        self.out: dict[str, set[str]] = {}

    def load(self, iid: str) -> int:
        return sum(iid in t for t in self.teams.values())

    def choose(self, code: str, removed: str) -> tuple[str, int, list[dict]]:
        team = [i for i in self.teams[code] if i != removed]
        need_unit = None
        if self.inp.joint_units:
            u = self.unit.get(removed, "")
            if sum(self.unit.get(i) == u for i in team) < self.inp.min_per_unit:
                need_unit = u
        skipped = []
        for rank, iid in enumerate(self.reserve.get(code, []), start=1):
            why = None
            if iid in team:
                why = "already_in_team"
            elif iid in self.out.get(code, set()) or iid == removed:
                why = "declared_unavailable"
            elif self.load(iid) >= self.inp.workload_cap:
                why = "at_workload_cap"
            elif need_unit is not None and self.unit.get(iid) != need_unit:
                why = f"unit_quota_needs_{need_unit}"
            if why is None:
                return iid, rank, skipped
            skipped.append({"inspector_id": iid, "why": why})
        raise RiskscoreError(
            f"reserve list of target {code} exhausted ({len(skipped)} entries skipped: "
            + ", ".join(f"{s['inspector_id']}={s['why']}" for s in skipped)
            + "); a new draw of the round is needed"
        )

    def apply(self, code: str, removed: str, added: str) -> None:
        self.teams[code] = [added if i == removed else i for i in self.teams[code]]
        self.out.setdefault(code, set()).add(removed)

    def render(self) -> bytes:
        from riskscore.outputs import people_csv_bytes

        rows = []
        for code, team in self.teams.items():
            for s, iid in enumerate(team, start=1):
                rows.append(
                    [
                        code,
                        self.inp.round_index,
                        self.team_id[code],
                        s,
                        "leader" if s == 1 else "member",
                        iid,
                        self.unit.get(iid, ""),
                    ]
                )
        return people_csv_bytes(
            ["fixmedins_code", "round", "team_id", "seat", "role", "inspector_id", "unit"], rows
        )


def _reason_hash(nonce: str, reason: str) -> str:
    return hashlib.sha256(f"{nonce}\n{reason}".encode()).hexdigest()


def _read_log(d: Path, name: str = "amendments.jsonl") -> list[dict]:
    p = d / name
    if not p.exists():
        return []
    try:
        text = p.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError(f"{name}: not UTF-8") from None
    if not text.endswith("\n"):
        raise VerificationError(f"{name}: last line is not terminated by a newline")
    out = []
    for n, line in enumerate(text[:-1].split("\n"), start=1):
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            raise VerificationError(f"{name} line {n}: not valid JSON") from None
        if not isinstance(e, dict) or _canon(e).decode("utf-8") != line:
            raise VerificationError(f"{name} line {n}: not in canonical form")
        out.append(e)
    return out


def _check_private(d: Path, entries: list[dict]) -> None:
    """Check the private reasons against the public ``reason_sha256`` (when present)."""
    if not (d / PRIVATE_LOG).exists():
        return
    priv = _read_log(d, PRIVATE_LOG)
    if len(priv) != len(entries):
        raise VerificationError(
            f"{PRIVATE_LOG}: {len(priv)} lines but amendments.jsonl has {len(entries)}"
        )
    for n, (p, e) in enumerate(zip(priv, entries, strict=True), start=1):
        if p.get("seq") != n or _reason_hash(str(p.get("nonce")), str(p.get("reason"))) != e.get(
            "reason_sha256"
        ):
            raise VerificationError(f"{PRIVATE_LOG} line {n}: reason does not match reason_sha256")


def parse_timestamp(ts, where: str, draw_date: str, after=None) -> _dt.datetime:
    """An amendment time: ISO 8601 with a UTC offset, not before the draw date nor ``after``.

    Raises
    ------
    VerificationError
        Naming ``where`` and what was expected.
    """
    try:
        t = _dt.datetime.fromisoformat(str(ts))
    except ValueError:
        raise VerificationError(
            f"{where}: timestamp {ts!r} is not ISO 8601 (e.g. 2026-01-20T09:00:00+08:00)"
        ) from None
    if t.tzinfo is None or "T" not in str(ts):
        raise VerificationError(
            f"{where}: timestamp {ts!r} needs a time and a UTC offset (e.g. 2026-01-20T09:00:00+08:00)"
        )
    if t.date() < _dt.date.fromisoformat(str(draw_date)[:10]):
        raise VerificationError(f"{where}: timestamp {ts} is before the draw date {draw_date}")
    if after is not None and t < after:
        raise VerificationError(
            f"{where}: timestamp {ts} is earlier than the previous amendment's ({after.isoformat()})"
        )
    return t


def chain_head(d: Path) -> tuple[int, str]:
    """(number of amendments, head hash): the last line's ``hash``, else SHA-256 of the manifest.

    Printed in the draw notice so the public holds the chain's length and head.
    """
    d = Path(d)
    entries = _read_log(d)
    if entries:
        return len(entries), str(entries[-1].get("hash"))
    return 0, hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()


def _replay(d: Path, entries: list[dict]) -> tuple[_State, str]:
    state = _State(d)
    prev = hashlib.sha256((d / "manifest.json").read_bytes()).hexdigest()
    last_t = None
    for n, e in enumerate(entries, start=1):
        where = f"amendments.jsonl line {n}"
        last_t = parse_timestamp(e.get("timestamp"), where, state.inp.draw_date, last_t)
        if e.get("prev_hash") != prev:
            raise VerificationError(f"{where}: prev_hash breaks the hash chain")
        body = {k: v for k, v in e.items() if k != "hash"}
        h = hashlib.sha256(_canon(body)).hexdigest()
        if e.get("hash") != h:
            raise VerificationError(f"{where}: hash differs from the line's content")
        if e.get("seq") != n:
            raise VerificationError(f"{where}: seq {e.get('seq')} should be {n}")
        code, removed = e.get("fixmedins_code"), e.get("removed")
        if code not in state.teams or removed not in state.teams[code]:
            raise VerificationError(f"{where}: {removed} is not in the team of {code}")
        try:
            added, rank, skipped = state.choose(code, removed)
        except RiskscoreError:
            raise VerificationError(
                f"{where}: reserve list of {code} has no eligible entry"
            ) from None
        if (added, rank, skipped) != (e.get("added"), e.get("reserve_rank"), e.get("skipped")):
            raise VerificationError(
                f"{where}: added {e.get('added')} but the next eligible reserve entry is {added}"
            )
        state.apply(code, removed, added)
        prev = h
    return state, prev


def verify_amendments(d: Path, manifest: dict | None = None) -> int:
    """Check the amendment chain and ``assignments_current.csv``; returns the number of lines."""
    d = Path(d)
    entries = _read_log(d)
    if not entries:
        if (d / PRIVATE_LOG).exists():
            raise VerificationError(
                f"amendments.jsonl: missing or empty but {PRIVATE_LOG} is present"
            )
        if (d / "assignments_current.csv").exists():
            cur = (d / "assignments_current.csv").read_bytes()
            if cur != (d / "assignments.csv").read_bytes():
                raise VerificationError(
                    "assignments_current.csv: differs from assignments.csv with no amendments"
                )
        return 0
    state, _ = _replay(d, entries)
    public = not (d / "inputs" / "conflicts.csv").exists()
    if not public and not (d / PRIVATE_LOG).exists():
        raise VerificationError(
            f"{PRIVATE_LOG}: missing though amendments.jsonl has {len(entries)} line(s) "
            "(only a public copy, without inputs/conflicts.csv, may leave it out)"
        )
    _check_private(d, entries)
    cur = d / "assignments_current.csv"
    if not cur.exists():
        raise VerificationError(
            f"assignments_current.csv: missing though amendments.jsonl has {len(entries)} line(s)"
        )
    if cur.read_bytes() != state.render():
        raise VerificationError("assignments_current.csv: differs from the replayed amendments")
    return len(entries)


def amend(
    draw_dir: str | Path,
    unavailable: str,
    target: str,
    reason: str,
    reason_code: str = "unavailable",
    timestamp: str | None = None,
) -> dict:
    """Replace an inspector of one target by the next eligible reserve entry (递补).

    Parameters
    ----------
    draw_dir : path
    unavailable : str
        inspector_id of the drawn inspector who cannot attend or must recuse.
    target : str
        fixmedins_code of the target.
    reason : str
        Free-text reason (kept in the internal log, not in public notices).
    reason_code : str
        One of :data:`REASON_CODES`.
    timestamp : str, optional
        ISO timestamp; default now (UTC).

    Returns
    -------
    dict
        The appended amendment.
    """
    from riskscore.draw.bundle import verify_draw

    d = Path(draw_dir)
    if reason_code not in REASON_CODES:
        raise RiskscoreError(
            f"--reason-code {reason_code!r}: expected one of {', '.join(REASON_CODES)}"
        )
    if not reason.strip():
        raise RiskscoreError("--reason: give the reason for the replacement")
    verify_draw(d, allow_uncommitted=True)
    entries = _read_log(d)
    state, prev = _replay(d, entries)
    if target not in state.teams:
        raise RiskscoreError(f"--target {target}: not a drawn target of {d}")
    if unavailable not in state.teams[target]:
        raise RiskscoreError(
            f"--unavailable {unavailable}: not in the current team of {target} ({', '.join(state.teams[target])})"
        )
    added, rank, skipped = state.choose(target, unavailable)
    ts = timestamp or _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
    last = None
    if entries:
        last = _dt.datetime.fromisoformat(entries[-1]["timestamp"])
    try:
        parse_timestamp(ts, "--timestamp", state.inp.draw_date, last)
    except VerificationError as exc:
        raise RiskscoreError(str(exc)) from None
    nonce = secrets.token_hex(16)
    body = {
        "seq": len(entries) + 1,
        "timestamp": ts,
        "round": state.inp.round_index,
        "fixmedins_code": target,
        "team_id": state.team_id[target],
        "removed": unavailable,
        "added": added,
        "added_unit": state.unit.get(added, ""),
        "reserve_rank": rank,
        "reason_code": reason_code,
        "reason_sha256": _reason_hash(nonce, reason),
        "skipped": skipped,
        "prev_hash": prev,
    }
    body["hash"] = hashlib.sha256(_canon(body)).hexdigest()
    _append_line(d / PRIVATE_LOG, {"seq": body["seq"], "nonce": nonce, "reason": reason})
    _append_line(d / "amendments.jsonl", body)
    state.apply(target, unavailable, added)
    atomic_write_bytes(d / "assignments_current.csv", state.render())
    _rewrite_notice(d)
    return {**body, "reason": reason}


def _append_line(path: Path, obj: dict) -> None:
    """Append one canonical JSON line by rewriting the file atomically (never half a line)."""
    old = path.read_bytes() if path.exists() else b""
    atomic_write_bytes(path, old + _canon(obj) + b"\n")


def notice_lang(d: Path) -> str:
    """Language of the draw notice in ``DRAW_DIR/notices`` (``zh`` unless it says ``en``)."""
    p = Path(d) / "notices" / "draw_notice.html"
    if p.exists() and b'<html lang="en"' in p.read_bytes()[:200]:
        return "en"
    return "zh"


def _rewrite_notice(d: Path) -> None:
    """Re-write ``DRAW_DIR/notices`` after an amendment (new teams, new chain head)."""
    from riskscore.draw.notices import draw_notice

    if (d / "notices").is_dir():
        draw_notice(d, d / "notices", lang=notice_lang(d))
