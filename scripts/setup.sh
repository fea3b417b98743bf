#!/usr/bin/env bash
# Sets up everything amocrm-wizard needs on a fresh Debian/Ubuntu machine: the system
# libraries Qt WebEngine loads, a virtualenv with the package, its GUI and its test tools, and
# Node's dotenv (the tests check that the .env reads back the same in Node), and the Node
# client's and its example's packages (axios).
set -euo pipefail
cd "$(dirname "$0")/.."

QT_LIBS="libegl1 libgl1 libopengl0 libglib2.0-0 libfontconfig1 libfreetype6 libxkbcommon0 libdbus-1-3 \
libnss3 libnspr4 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxshmfence1 libxkbfile1 libasound2 \
libgbm1 libdrm2 libx11-xcb1 libxcb1 libxi6 libxrender1 libxext6 libx11-6 \
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
libxcb-xkb1 libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 libxcb-glx0 libxkbcommon-x11-0 fonts-dejavu-core"
# openssh-server: the ssh:// target's tests start a real sshd on a loopback port (never 22);
# util-linux gives them flock, as on the servers the target writes to; procps, pgrep. cron: the
# Done page offers the daily renewal only where a scheduler exists (the GUI tests use it).
# pgbouncer: the SQL target's contention tests also run through it in transaction mode.
TOOLS="xvfb xauth imagemagick openssh-server openssh-client util-linux procps cron pgbouncer"

missing=""
for pkg in $QT_LIBS $TOOLS; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "Installing system packages:$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# The GUI (PySide6) is the gui extra: `pip install amocrm-wizard` alone is headless.
.venv/bin/python -m pip install -q -e ".[gui,test]"

# The Qt Linguist catalogues are committed compiled, as the .mo is (a wheel is built without
# lrelease); compiling them here keeps a checkout current, and says when a committed one was not.
for ts in resources/translations/*.ts; do
  [ -e "$ts" ] || continue
  qm="${ts%.ts}.qm"
  .venv/bin/pyside6-lrelease -silent "$ts" -qm "$qm"
  if git ls-files --error-unmatch "$qm" >/dev/null 2>&1 && ! git diff --quiet -- "$qm"; then
    echo "$qm was behind $ts: recompiled; commit it." >&2
  fi
done

if command -v npm >/dev/null 2>&1; then
  npm install --prefix tests/node --no-audit --no-fund --silent >/dev/null
  # The Node client's dev copy of axios, and the example backend that uses the client.
  for dir in clients/node examples/node; do
    npm ci --prefix "$dir" --no-audit --no-fund --silent >/dev/null
  done
fi
echo "Set up: .venv ready."
