#!/usr/bin/env bash
# Sets up (scripts/setup.sh, which installs the wizard with its gui extra) and opens the wizard
# against the built-in sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ "$(id -u)" = 0 ]; then export QTWEBENGINE_DISABLE_SANDBOX=1; fi
exec .venv/bin/amocrm-wizard --demo "$@"
