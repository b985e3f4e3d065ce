#!/usr/bin/env bash
# Set up riskscore on a fresh machine (Python 3.11+): a virtual environment in .venv with the
# package and its extras, plus the system pieces reports need (a CJK font for charts; with
# --browser also Debian's Chromium for the rendering tests). Safe to run again.
#   scripts/setup.sh            package + CJK font
#   scripts/setup.sh --dev      + test tools and Spark (pyspark)
#   scripts/setup.sh --dev --browser   + headless Chromium (used by the report tests)
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
browser=0
for a in "$@"; do
  case "$a" in
    --dev) extras="[dev]" ;;
    --browser) browser=1 ;;
  esac
done

need_pkgs=()
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then need_pkgs+=(fonts-noto-cjk fontconfig); fi
if [ "$browser" = 1 ] && ! command -v chromium >/dev/null 2>&1; then need_pkgs+=(chromium); fi
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_pkgs[*]} from Debian's packages" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}") >/tmp/riskscore-apt.log 2>&1 \
      || { echo "setup: apt-get install ${need_pkgs[*]} failed (see /tmp/riskscore-apt.log); charts fall back to another CJK font if one is present" >&2; }
  else
    echo "setup: please install ${need_pkgs[*]} (needs root); charts need a CJK font" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".${extras}"
