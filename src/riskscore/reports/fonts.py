"""CJK fonts for matplotlib charts (中文字体).

Charts in the reports carry Chinese titles, axis labels and tick labels. matplotlib's
default font (DejaVu Sans) has no Han glyphs and draws empty boxes ("tofu") with a
``Glyph … missing from font`` warning. :func:`setup_cjk_font` finds an installed CJK font
and makes it matplotlib's sans-serif family.
"""

from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path

from riskscore.errors import RiskscoreError

CJK_FONT_CANDIDATES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Noto Serif CJK SC",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
)
"""Font family names tried in order (Debian's fonts-noto-cjk provides the first)."""

FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    os.path.expanduser("~/.local/share/fonts"),
    os.path.expanduser("~/.fonts"),
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)

_FILE_HINTS = (
    "cjk",
    "wqy",
    "wenquanyi",
    "droidsansfallback",
    "sourcehan",
    "uming",
    "ukai",
    "simhei",
    "msyh",
    "pingfang",
    "notosanssc",
    "notoserifsc",
)

INSTALL_HINT = (
    "no CJK font found for charts (图表需要中文字体); install one, e.g. on Debian/Ubuntu: "
    "sudo apt-get install fonts-noto-cjk (or run scripts/setup.sh), on Fedora: "
    "sudo dnf install google-noto-sans-cjk-fonts, on macOS/Windows a system CJK font is used"
)

SAMPLE_TEXT = "医保基金抽查风险分层年度计划结果公告"
"""Han characters a chosen font must cover."""


def _font_has_glyphs(path: str, text: str = SAMPLE_TEXT) -> bool:
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(path)
    except Exception:  # unreadable font file
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def _register_font_files() -> None:
    """Add CJK font files on disk that matplotlib's (possibly stale) cache does not know."""
    from matplotlib import font_manager

    known = {Path(f.fname).resolve() for f in font_manager.fontManager.ttflist}
    for base in FONT_DIRS:
        if not os.path.isdir(base):
            continue
        for ext in ("ttc", "otf", "ttf", "otc"):
            for path in glob.glob(os.path.join(base, "**", f"*.{ext}"), recursive=True):
                low = os.path.basename(path).lower().replace("-", "").replace("_", "")
                if not any(h in low for h in _FILE_HINTS):
                    continue
                if Path(path).resolve() in known:
                    continue
                try:
                    font_manager.fontManager.addfont(path)
                except Exception:  # pragma: no cover - broken font file
                    continue


def find_cjk_font() -> tuple[str, str] | None:
    """Return ``(family name, file path)`` of an installed CJK font, or None.

    Returns
    -------
    tuple of str or None
        The first family of :data:`CJK_FONT_CANDIDATES` that matplotlib can load and that
        covers :data:`SAMPLE_TEXT`.
    """
    from matplotlib import font_manager

    def lookup() -> tuple[str, str] | None:
        by_name: dict[str, list[str]] = {}
        for f in font_manager.fontManager.ttflist:
            by_name.setdefault(f.name, []).append(f.fname)
        for name in CJK_FONT_CANDIDATES:
            for path in sorted(by_name.get(name, []), key=lambda p: ("Bold" in p, p)):
                if _font_has_glyphs(path):
                    return name, path
        return None

    found = lookup()
    if found is None:
        _register_font_files()
        found = lookup()
    return found


def setup_cjk_font() -> str:
    """Make an installed CJK font matplotlib's default sans-serif family.

    Also turns off the Unicode minus sign (CJK fonts often lack U+2212).

    Returns
    -------
    str
        The font family name in use (e.g. ``"Noto Sans CJK SC"``).

    Raises
    ------
    RiskscoreError
        When no CJK font is installed; the message says how to install one.
    """
    import matplotlib

    found = find_cjk_font()
    if found is None:
        raise RiskscoreError(INSTALL_HINT)
    name, _path = found
    matplotlib.rcParams["font.family"] = ["sans-serif"]
    rest = [f for f in matplotlib.rcParams["font.sans-serif"] if f != name]
    matplotlib.rcParams["font.sans-serif"] = [name, *rest]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return name


def missing_glyph_warnings(text: str = SAMPLE_TEXT) -> list[str]:
    """Draw ``text`` in a small figure with the current settings; return glyph warnings.

    Parameters
    ----------
    text : str
        Text to draw (default: Chinese sample).

    Returns
    -------
    list of str
        Messages of matplotlib's ``Glyph … missing from font`` warnings (empty when every
        character was drawn).
    """
    import io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 1))
    ax.set_title(text)
    ax.set_xlabel(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from" in str(w.message).lower()]
