#!/usr/bin/env bash
# Build the frozen app (dist/amocrm-wizard, onedir, with PyInstaller and build.spec) and this
# platform's installer (installer/build.py): a .deb on Linux, an Inno Setup .exe on Windows
# (Git Bash), a .dmg on macOS. Needs the wizard and the package extra: pip install -e ".[gui,package]".
#
#   scripts/package.sh                 bundle + installer
#   scripts/package.sh --bundle-only   just dist/amocrm-wizard
set -euo pipefail
cd "$(dirname "$0")/.."

BUNDLE_ONLY=0
[ "${1:-}" = "--bundle-only" ] && BUNDLE_ONLY=1

# $PYTHON (CI: the runner's interpreter), else the project's .venv.
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x .venv/bin/python ]; then PY=.venv/bin/python
elif [ -x .venv/Scripts/python.exe ]; then PY=.venv/Scripts/python.exe
else PY=python
fi
# The frozen build is the GUI install: PySide6 comes from the gui extra.
for module in PyInstaller PySide6; do
  "$PY" -c "import $module" 2>/dev/null || { echo "$module is missing: pip install -e \".[gui,package]\"" >&2; exit 1; }
done

# A build is CPU-heavy (and the .deb's xz more so): stay polite on shared machines.
NICE=""
command -v nice >/dev/null 2>&1 && NICE="nice -n 10"

$NICE "$PY" -m PyInstaller --noconfirm --log-level WARN build.spec
echo "Bundle: dist/amocrm-wizard ($(du -sm dist/amocrm-wizard | cut -f1) MiB)"
[ "$BUNDLE_ONLY" = 1 ] && exit 0
$NICE "$PY" installer/build.py
