"""Rendered reports in headless Chromium: Chinese text drawn with real glyphs (no tofu) and
charts decoded and non-blank.

Three checks per report:

* the embedded PNG charts decode with PIL and are not blank;
* Chromium loads the page, every ``<img>`` decodes (``naturalWidth > 0``), and the Chinese
  characters of the headings, drawn with the page's own font stack on a canvas, give
  distinct glyph bitmaps that differ from the bitmap of an unassigned code point (tofu).
  A control run with a fontconfig that only knows DejaVu Sans (no CJK font) must fail this
  check, which shows the check can fail;
* a screenshot (``--screenshot``) is taken; its heading region differs from the
  screenshot of the same page rendered without a CJK font.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from report_fixtures import make_world
from riskscore.reports import TEMPLATES, run_report

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="chromium not installed (scripts/setup.sh --browser installs Debian's chromium)",
    ),
]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PROBE = r"""
<script>
window.addEventListener("load", function () {
  var out = {};
  var imgs = Array.from(document.images);
  out.images = imgs.length;
  out.images_ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var text = Array.from(document.querySelectorAll("h1, h2, th"))
    .map(function (h) { return h.textContent; }).join("");
  var chars = Array.from(new Set(Array.from(text).filter(function (c) {
    return /[\u4e00-\u9fff]/.test(c); }))).slice(0, 16);
  var h1 = document.querySelector("h1") || document.body;
  var font = "40px " + getComputedStyle(h1).fontFamily;
  function glyph(ch) {
    var c = document.createElement("canvas"); c.width = 60; c.height = 60;
    var x = c.getContext("2d"); x.fillStyle = "#fff"; x.fillRect(0, 0, 60, 60);
    x.fillStyle = "#000"; x.font = font; x.textBaseline = "top"; x.fillText(ch, 5, 5);
    var d = x.getImageData(0, 0, 60, 60).data, bits = [], ink = 0;
    for (var i = 0; i < d.length; i += 4) { var b = d[i] < 128 ? 1 : 0; ink += b; bits.push(b); }
    return { key: bits.join(""), ink: ink };
  }
  var tofuA = glyph("\u0378"), tofuB = glyph("\u0379");
  out.control_tofu_identical = tofuA.key === tofuB.key;
  var g = chars.map(glyph);
  out.chars = chars.join("");
  out.distinct = new Set(g.map(function (x) { return x.key; })).size;
  out.like_tofu = g.filter(function (x) { return x.key === tofuA.key; }).length;
  out.min_ink = g.length ? Math.min.apply(null, g.map(function (x) { return x.ink; })) : 0;
  var pre = document.createElement("pre"); pre.id = "rs-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""

NO_CJK_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>/usr/share/fonts/truetype/dejavu</dir>
  <cachedir>{cache}</cachedir>
</fontconfig>
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    dirs = make_world(root)
    params = {k: str(v) for k, v in dirs.items()}
    params["as_of"] = "2025-08-09"
    out = root / "reports"
    return {name: run_report(name, params, out, progress=False).html for name in TEMPLATES}


@pytest.fixture(scope="module")
def no_cjk_env(tmp_path_factory):
    d = tmp_path_factory.mktemp("fontconfig")
    conf = d / "fonts.conf"
    conf.write_text(NO_CJK_FONTS.format(cache=d / "cache"), encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def _chromium(args: list[str], tmp: Path, env=None, timeout: int = 120) -> str:
    profile = tmp / f"profile_{len(list(tmp.glob('profile_*')))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return res.stdout


def _probe(html: Path, tmp: Path, env=None) -> dict:
    page = tmp / f"probe_{html.name}"
    page.write_text(
        html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>", 1), encoding="utf-8"
    )
    dom = _chromium(["--virtual-time-budget=10000", "--dump-dom", page.as_uri()], tmp, env)
    m = re.search(r'<pre id="rs-check">(.*?)</pre>', dom, re.S)
    assert m, f"probe did not run in Chromium for {html.name}"
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def _screenshot(html: Path, png: Path, tmp: Path, env=None):
    from PIL import Image

    _chromium([f"--screenshot={png}", "--window-size=1280,2000", html.as_uri()], tmp, env)
    assert png.exists(), f"no screenshot of {html.name}"
    return Image.open(png).convert("L")


@pytest.mark.parametrize("name", TEMPLATES)
def test_embedded_charts_decode_and_are_not_blank(reports, name):
    from PIL import Image, ImageStat

    text = reports[name].read_text(encoding="utf-8")
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    if name == "public_notice":
        assert pngs == []  # a notice is a table, no charts
        return
    assert len(pngs) >= 3
    for b64 in pngs:
        img = Image.open(io.BytesIO(base64.b64decode(b64)))
        img.load()
        assert img.width > 200 and img.height > 100
        gray = img.convert("L")
        lo, hi = gray.getextrema()
        assert hi - lo > 100, "chart is blank"
        assert ImageStat.Stat(gray).stddev[0] > 10
        assert len(img.convert("RGB").getcolors(1 << 20) or []) > 8


@pytest.mark.parametrize("name", TEMPLATES)
def test_chromium_draws_chinese_text_and_images(reports, name, tmp_path):
    res = _probe(reports[name], tmp_path)
    assert res["control_tofu_identical"], "two unassigned code points should render the same"
    assert res["images"] == res["images_ok"], res
    assert len(res["chars"]) >= 8, res
    assert res["distinct"] == len(res["chars"]), f"identical glyphs (tofu): {res}"
    assert res["like_tofu"] == 0 and res["min_ink"] > 20, res


def test_tofu_check_fails_without_a_cjk_font(reports, tmp_path, no_cjk_env):
    """Control: with only DejaVu Sans available the same probe sees tofu."""
    res = _probe(reports["annual_plan"], tmp_path, env=no_cjk_env)
    assert res["distinct"] < len(res["chars"]) or res["like_tofu"] > 0, res


@pytest.mark.parametrize("name", TEMPLATES)
def test_screenshot_differs_from_a_render_without_cjk_font(reports, name, tmp_path, no_cjk_env):
    from PIL import ImageChops, ImageStat

    good = _screenshot(reports[name], tmp_path / "cjk.png", tmp_path)
    assert good.size == (1280, 2000)
    assert ImageStat.Stat(good).stddev[0] > 10, "screenshot is blank"
    tofu = _screenshot(reports[name], tmp_path / "tofu.png", tmp_path, env=no_cjk_env)
    # the title (h1, Chinese) sits in the top band of the page
    box = (0, 0, 1280, 160)
    diff = ImageChops.difference(good.crop(box), tofu.crop(box))
    changed = sum(diff.histogram()[41:])
    assert changed > 200, f"{name}: title looks the same with and without a CJK font"
    # dark text pixels in the title band
    assert sum(good.crop(box).histogram()[:100]) > 300
