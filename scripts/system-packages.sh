#!/usr/bin/env bash
# Prints the Debian/Ubuntu packages scripts/setup.sh still has to install, one per line,
# each under the name this release gives it. Installs nothing; the names of packages
# apt does not know yet (no package lists on a fresh machine) are guesses, so setup.sh asks
# again after apt-get update.
set -euo pipefail

QT_LIBS="libegl1 libgl1 libopengl0 libglib2.0-0 libfontconfig1 libfreetype6 libxkbcommon0 libdbus-1-3 \
libnss3 libnspr4 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxshmfence1 libxkbfile1 \
libgbm1 libdrm2 libx11-xcb1 libxcb1 libxi6 libxrender1 libxext6 libx11-6 \
libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
libxcb-xkb1 libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 libxcb-glx0 libxkbcommon-x11-0 fonts-dejavu-core"
# openssh-server: the ssh:// target's tests start a real sshd on a loopback port (never 22);
# util-linux gives them flock, as on the servers the target writes to; procps, pgrep. cron: the
# Done page offers the daily renewal only where a scheduler exists (the GUI tests use it).
# pgbouncer: the SQL target's contention tests also run through it in transaction mode.
TOOLS="xvfb xauth imagemagick openssh-server openssh-client util-linux procps cron pgbouncer"
PYTHON="${PYTHON:-python3}"

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# A purely virtual package (libasound2 on Ubuntu 24.04) shows no "Package:" stanza.
known() {
  apt-cache show --no-all-versions "$1" 2>/dev/null | grep -q '^Package:'
}

# One package that has had several names: nothing when one of them is installed, else the
# first name apt knows (the first one given when it knows none yet).
one_of() {
  local name
  for name in "$@"; do
    if installed "$name"; then return; fi
  done
  for name in "$@"; do
    if known "$name"; then
      echo "$name"
      return
    fi
  done
  echo "$1"
}

for pkg in $QT_LIBS $TOOLS; do
  installed "$pkg" || echo "$pkg"
done
# ALSA's library became libasound2t64 in Ubuntu 24.04 and Debian 13 (64-bit time_t).
one_of libasound2t64 libasound2
# Debian and Ubuntu ship venv's ensurepip apart from python3: without it `python3 -m venv` fails.
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  for name in "python$version-venv" python3-venv; do
    if known "$name"; then
      echo "$name"
      exit 0
    fi
  done
  echo python3-venv
fi
