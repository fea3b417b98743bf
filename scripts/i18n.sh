#!/usr/bin/env bash
# The gettext catalogue of the Qt-free code (core, targets, runtime, CLI):
#   1. extract every _("…") message into wizard/locale/amocrm_wizard.pot (sources: babel.cfg);
#   2. merge it into wizard/locale/<lang>/LC_MESSAGES/amocrm_wizard.po, created when missing,
#      keeping every translation and never guessing one (no fuzzy matching);
#   3. compile the .mo beside it.
# The .pot, .po and .mo are all committed: a fresh clone and a pip install need no Babel.
# Then translate the new (empty) entries in the .po and run this again to compile them.
#
#   scripts/i18n.sh          update and compile
#   scripts/i18n.sh --check  exit 1 if the committed catalogue is behind the sources
set -euo pipefail
cd "$(dirname "$0")/.."

PYBABEL=.venv/bin/pybabel
[ -x "$PYBABEL" ] || PYBABEL=pybabel
DOMAIN=amocrm_wizard
LOCALE_DIR=wizard/locale
POT="$LOCALE_DIR/$DOMAIN.pot"
LANGUAGES="ru"
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' wizard/__init__.py)
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

extract() {  # extract MAPPING OUTPUT: the template, and the list of files it read on stderr
  "$PYBABEL" extract -F "$1" -k _ --no-location --sort-output \
    --project amocrm-wizard --version "$VERSION" -o "$2" . 2>"$work/extract.log"
}

extract babel.cfg "$work/new.pot"
# Every Qt-free module that says _("…") must be read; babel.cfg is the list of them.
missing=""
for module in $(grep -rl --include='*.py' -E '^from wizard\.core\.i18n import .*\b_\b' wizard \
  | grep -v -E '^wizard/(ui|sandbox)/' | sort); do
  grep -q "extracting messages from $module\$" "$work/extract.log" || missing="$missing $module"
done
if [ -n "$missing" ]; then
  echo "babel.cfg does not cover:$missing (add a [python: …] line for each); extracting them anyway." >&2
  cp babel.cfg "$work/babel.cfg"
  for module in $missing; do printf '[python: %s]\n' "$module" >>"$work/babel.cfg"; done
  extract "$work/babel.cfg" "$work/new.pot"
fi

same_but_date() {  # two catalogue files that differ at most in their creation/revision dates
  [ -f "$1" ] && [ -f "$2" ] &&
    diff -q <(grep -v -E '^"(POT-Creation|PO-Revision)-Date:' "$1") \
      <(grep -v -E '^"(POT-Creation|PO-Revision)-Date:' "$2") >/dev/null
}

if [ "$CHECK" = 1 ]; then
  status=0
  same_but_date "$work/new.pot" "$POT" || { echo "$POT is out of date." >&2; status=1; }
  for lang in $LANGUAGES; do
    po="$LOCALE_DIR/$lang/LC_MESSAGES/$DOMAIN.po"
    if [ ! -f "$po" ]; then
      echo "$po is missing." >&2
      status=1
    elif ! "$PYBABEL" update -N --ignore-pot-creation-date --check -D "$DOMAIN" -l "$lang" \
      -i "$work/new.pot" -o "$po" 2>/dev/null; then
      echo "$po is out of date." >&2
      status=1
    fi
  done
  exit $status
fi

# Only a real change rewrites the template: a new date alone is not one.
same_but_date "$work/new.pot" "$POT" || cp "$work/new.pot" "$POT"

for lang in $LANGUAGES; do
  po="$LOCALE_DIR/$lang/LC_MESSAGES/$DOMAIN.po"
  if [ -f "$po" ]; then
    "$PYBABEL" update --no-fuzzy-matching --ignore-pot-creation-date -D "$DOMAIN" -l "$lang" \
      -i "$POT" -o "$po"
  else
    mkdir -p "$(dirname "$po")"
    "$PYBABEL" init -D "$DOMAIN" -l "$lang" -i "$POT" -o "$po"
  fi
done

# Untranslated entries compile too (they show in English); --statistics says how many.
"$PYBABEL" compile -d "$LOCALE_DIR" -D "$DOMAIN" --statistics
