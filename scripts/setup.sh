#!/usr/bin/env bash
# One setup step for both README commands: Debian packages (when missing), the virtual
# environment at .venv/ and the Python packages from pyproject.toml. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# --- Debian packages ---------------------------------------------------------------------------
# gettext: compiles the translation catalogs (manage.py compilemessages). chromium: the browser
# the Playwright tests drive (`playwright install` cannot download one here); fonts-noto-cjk:
# without a CJK font Chinese renders as empty boxes in the browser, in screenshots and in the
# briefing PDF's charts. libpango-1.0-0, libpangoft2-1.0-0: the text layout WeasyPrint (the
# briefing PDF) loads at run time.
APT_PACKAGES=(gettext chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); fi
    fi
    if [ "$(id -u)" = 0 ] || [ ${#sudo_cmd[@]} -gt 0 ]; then
      say "installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      "${sudo_cmd[@]}" apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway"
      if ! "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        say "COULD NOT install Debian packages: ${missing[*]} (browser tests and CJK fonts need them)"
      fi
    else
      say "COULD NOT install Debian packages ${missing[*]}: not root and no password-less sudo."
      say "Install them yourself: sudo apt-get install ${missing[*]}"
    fi
  else
    say "COULD NOT install ${missing[*]}: this is not a Debian-like system (apt-get missing)."
  fi
fi

# --- Python --------------------------------------------------------------------------------------
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || { say "Python 3.11 or newer is required"; exit 1; }
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $PYTHON"
  "$PYTHON" -m venv .venv || { say "python venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=.venv/.minhu-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing Python packages (pyproject.toml)"
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
  echo "$want" > "$stamp"
fi
say "ready"
