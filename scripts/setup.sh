#!/usr/bin/env bash
# Sets up everything amocrm-wizard needs on a fresh Debian/Ubuntu machine: the system
# libraries Qt WebEngine loads, a virtualenv with the package, its GUI and its test tools, and
# Node's dotenv (the tests check that the .env reads back the same in Node), and the Node
# client's and its example's packages (axios).
set -euo pipefail
cd "$(dirname "$0")/.."

# scripts/system-packages.sh knows what is needed and under which name this release has it.
missing="$(scripts/system-packages.sh)"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # Asked again: with the package lists in place, every name is this release's own.
  missing="$(scripts/system-packages.sh)"
  echo "Installing system packages:" $missing
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON="${PYTHON:-python3}"
# A venv made while ensurepip was missing has a python but no pip: made again.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  "$PYTHON" -m venv --clear .venv
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
