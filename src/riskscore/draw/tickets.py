"""Randomness canonicalisation (RFC 3797 §4) and domain-separated SHA-256 tickets (抽签号).

Every random choice of the draw is a pure function of tickets::

    ticket(seed, purpose, *ids) = SHA-256("riskscore-ticket-v1" 0x1F seed 0x1F purpose 0x1F id1 0x1F ...)

read as a 256-bit big-endian integer; ``u = ticket / 2**256`` is uniform on [0, 1). Selections
compare the full 256-bit integers, so ties are impossible in practice; no library PRNG stream is
used anywhere (NumPy/Python generators promise the same stream only on the same build).
"""

from __future__ import annotations

import hashlib
import re

from riskscore.errors import RiskscoreError

TICKET_PREFIX = b"riskscore-ticket-v1"
SEP = b"\x1f"
_HEX64 = re.compile(r"\b[0-9a-fA-F]{64}\b")
_DIGITS = re.compile(r"\d+")
_SOURCE_SPLIT = re.compile(r"[;；/|\n]+")


def canonical_randomness(text: str) -> str:
    """Canonical key string of the public randomness (随机数来源规范化), RFC 3797 §4 style.

    Rules
    -----
    * If the text contains 64-hex-digit strings (a drand beacon ``randomness``), the key is
      those strings in lower case, in order, each followed by ``/``.
    * Otherwise the text is split into sources at ``;``, ``；``, ``/``, ``|`` or newlines. In each
      source every run of decimal digits is one number (leading zeros dropped); the numbers are
      sorted ascending (RFC 3797: lottery balls are drawn in any order), each is written
      followed by ``.``, and each source is followed by ``/``. Sources without digits are
      ignored. Example: ``"红球 03 07 12 19 25 31; 蓝球 09"`` → ``"3.7.12.19.25.31./9./"``.

    Parameters
    ----------
    text : str
        The published randomness, e.g. a lottery result.

    Returns
    -------
    str

    Raises
    ------
    RiskscoreError
        When the text contains no number at all.
    """
    hexes = _HEX64.findall(text)
    if hexes:
        return "".join(h.lower() + "/" for h in hexes)
    parts = []
    for src in _SOURCE_SPLIT.split(text):
        nums = sorted(int(d) for d in _DIGITS.findall(src))
        if nums:
            parts.append("".join(f"{n}." for n in nums) + "/")
    if not parts:
        raise RiskscoreError(
            f"--randomness {text!r}: no numbers found; give the published lottery numbers "
            "(e.g. '红球 03 07 12 19 25 31; 蓝球 09') or a drand randomness (64 hex digits)"
        )
    return "".join(parts)


def seed_from_randomness(text: str) -> bytes:
    """SHA-256 of the canonical key (UTF-8): the draw seed (随机种子)."""
    return hashlib.sha256(canonical_randomness(text).encode("utf-8")).digest()


def ticket(seed: bytes, purpose: str, *ids: object) -> int:
    """Domain-separated ticket as a 256-bit integer.

    Parameters
    ----------
    seed : bytes
        From :func:`seed_from_randomness`.
    purpose : str
        Domain, e.g. ``"target|2025|1"`` or ``"team|2025|1|<code>"``.
    *ids
        Identifiers, converted with ``str``.
    """
    h = hashlib.sha256(TICKET_PREFIX + SEP + seed + SEP + purpose.encode("utf-8"))
    for i in ids:
        h.update(SEP + str(i).encode("utf-8"))
    return int.from_bytes(h.digest(), "big")


def tickets(seed: bytes, purpose: str, ids: list[str]) -> list[int]:
    """Tickets for many ids with one purpose (prefix hashed once)."""
    base = hashlib.sha256(TICKET_PREFIX + SEP + seed + SEP + purpose.encode("utf-8"))
    out = []
    for i in ids:
        h = base.copy()
        h.update(SEP + str(i).encode("utf-8"))
        out.append(int.from_bytes(h.digest(), "big"))
    return out


def as_unit(t: int) -> float:
    """Ticket → number in [0, 1) (53 significant bits; ordering uses the full integer)."""
    return (t >> 203) / float(1 << 53)
