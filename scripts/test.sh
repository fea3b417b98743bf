#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the whole test suite, the Qt wizard offscreen included.
# Database tests use AMOCRM_TEST_POSTGRES_URL / AMOCRM_TEST_MYSQL_URL when set, else skip.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export QT_QPA_PLATFORM=offscreen
# Chromium will not start as root with its sandbox; switched off for tests and CI only.
if [ "$(id -u)" = 0 ]; then export QTWEBENGINE_DISABLE_SANDBOX=1; fi
.venv/bin/ruff check wizard tests bench installer
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
