#!/usr/bin/env bash
# The packaging test (Linux): build the frozen bundle and the .deb, unpack the .deb into a
# throwaway root with `dpkg -x`, and run the installed binary there: --version, --self-test,
# `connect` against a sandbox served by the frozen binary itself, `check`/`test` on the .env
# it wrote, and --demo offscreen for 8 seconds. Then the bundle checks in tests/packaging.
#
#   scripts/package.sh && scripts/package_test.sh --no-build   # reuse dist/ from package.sh
#   scripts/package_test.sh                                    # build everything, then test
#
# Too slow for every test run (the xz-compressed .deb alone takes minutes on two cores); CI
# runs it when packaging files change (.github/workflows/package.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD

BUILD=1
for arg in "$@"; do
  case "$arg" in
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

VENV_PY=${PYTHON:-.venv/bin/python}   # CI sets PYTHON to the runner's interpreter
case "$VENV_PY" in
  /*) ;;
  */*) VENV_PY="$ROOT_DIR/$VENV_PY" ;;
  *) VENV_PY=$(command -v "$VENV_PY") ;;
esac
[ -x "$VENV_PY" ] || { echo "no Python at $VENV_PY (make .venv or set PYTHON)" >&2; exit 1; }
export PYTHON="$VENV_PY"   # scripts/package.sh builds with the same interpreter
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' wizard/__init__.py)
ARCH=$(dpkg --print-architecture)
DEB="dist/amocrm-wizard_${VERSION}_${ARCH}.deb"
SECONDS_AT_START=$SECONDS
declare -a TIMINGS=()

now_ms() { echo $(($(date +%s%N) / 1000000)); }
step() { STEP_NAME=$1; STEP_START=$(now_ms); echo; echo "== $1"; }
done_step() {
  local ms=$(($(now_ms) - STEP_START))
  TIMINGS+=("$(printf '%-44s %5d.%d s' "$STEP_NAME" $((ms / 1000)) $((ms % 1000 / 100)))")
}
mib() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }
fail() { echo "FAIL: $*" >&2; exit 1; }

WORK=$(mktemp -d /tmp/amocrm-wizard-package-test.XXXXXX)
SANDBOX_PID=""
DEMO_PID=""
SETUP_PID=""
INSTALLED=0
cleanup() {
  for pid in $DEMO_PID $SANDBOX_PID $SETUP_PID; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  done
  if [ "$INSTALLED" = 1 ]; then dpkg --purge amocrm-wizard >/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$BUILD" = 1 ]; then
  step "build the bundle (pyinstaller)"
  scripts/package.sh --bundle-only
  done_step
  step "build the .deb (installer/build.py)"
  nice -n 10 "$VENV_PY" installer/build.py
  done_step
fi
[ -x dist/amocrm-wizard/amocrm-wizard ] || fail "dist/amocrm-wizard/amocrm-wizard is missing (build first)"
[ -f "$DEB" ] || fail "$DEB is missing (build first)"

step "inspect and unpack the .deb (dpkg -x)"
dpkg-deb --info "$DEB" > "$WORK/info.txt"
for field in Package Version Architecture Depends Installed-Size; do
  grep -q "^ $field: " "$WORK/info.txt" || fail "control has no $field"
done
grep -q "^ Version: $VERSION$" "$WORK/info.txt" || fail "control Version is not $VERSION"
dpkg-deb --contents "$DEB" > "$WORK/contents.txt"
for path in ./opt/amocrm-wizard/amocrm-wizard ./usr/bin/amocrm-wizard ./usr/share/applications/amocrm-wizard.desktop \
    ./usr/share/icons/hicolor/256x256/apps/amocrm-wizard.png ./usr/share/icons/hicolor/scalable/apps/amocrm-wizard.svg \
    ./etc/apparmor.d/amocrm-wizard ./usr/share/mime/packages/amocrm-wizard.xml \
    ./usr/share/applications/amocrm-wizard-setup.desktop; do
  grep -q " $path\( ->.*\)\?$" "$WORK/contents.txt" || fail "the .deb lacks $path"
done
if grep -v " root/root " "$WORK/contents.txt" | grep -q .; then fail "files not owned by root:root"; fi
TARGET="$WORK/root"
dpkg -x "$DEB" "$TARGET"
BIN="$TARGET/usr/bin/amocrm-wizard"    # the /usr/bin link, as users start it
[ -L "$BIN" ] || fail "/usr/bin/amocrm-wizard is not a symlink"
[ -x "$BIN" ] || fail "/usr/bin/amocrm-wizard does not lead to an executable"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$TARGET/usr/share/applications/amocrm-wizard.desktop"
  desktop-file-validate "$TARGET/usr/share/applications/amocrm-wizard-setup.desktop"
fi
done_step

export QT_QPA_PLATFORM=offscreen
if [ "$(id -u)" = 0 ]; then
  export QTWEBENGINE_DISABLE_SANDBOX=1  # Chromium refuses its sandbox as root
elif [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then
  # Ubuntu 24.04: the package's AppArmor profile allows the sandbox's user namespaces for
  # /opt/amocrm-wizard only, and this copy lives in a dpkg -x root under /tmp. CI tests the
  # sandbox with the real install.
  export QTWEBENGINE_DISABLE_SANDBOX=1
fi

cd "$WORK"   # nothing may depend on the source tree

step "--version"
out=$("$BIN" --version)
[ "$out" = "amocrm-wizard $VERSION" ] || fail "--version printed '$out'"
echo "$out"
done_step

step "the Russian catalogue is bundled"
ru=$(AMOCRM_WIZARD_LANG=ru "$BIN" connect --account "not an account!" --client-id x --redirect-uri https://x.example \
  --code y --env "$WORK/unused.env" 2>&1 || true)
en=$(AMOCRM_WIZARD_LANG=en "$BIN" connect --account "not an account!" --client-id x --redirect-uri https://x.example \
  --code y --env "$WORK/unused.env" 2>&1 || true)
[ -n "$en" ] && [ "$ru" != "$en" ] || fail "AMOCRM_WIZARD_LANG=ru printed the English text: wizard/locale is missing"
echo "$ru" | head -n1
done_step

step "--self-test (offscreen)"
"$BIN" --self-test > "$WORK/self-test.out" 2> "$WORK/self-test.err" || {
  cat "$WORK/self-test.out" "$WORK/self-test.err" >&2; fail "--self-test exited non-zero"; }
grep "Self-test passed" "$WORK/self-test.out" || fail "--self-test did not say it passed"
done_step

# As root the sandbox is off; when an unprivileged user exists, run it once with Chromium's
# sandbox on (the bundled QtWebEngineProcess must be able to set it up).
if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && id nobody >/dev/null 2>&1 \
    && [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || echo 0)" != 1 ]; then
  step "--self-test as nobody, Chromium sandbox on"
  chmod 755 "$WORK"
  mkdir -p "$WORK/nobody" && chown nobody "$WORK/nobody"
  runuser -u nobody -- env -i HOME="$WORK/nobody" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    "$BIN" --self-test > "$WORK/self-test-nobody.out" 2> "$WORK/self-test-nobody.err" || {
    cat "$WORK/self-test-nobody.out" "$WORK/self-test-nobody.err" >&2; fail "--self-test as nobody failed"; }
  if grep -q "Sandboxing disabled" "$WORK/self-test-nobody.err"; then fail "the sandbox was off for nobody"; fi
  grep "Self-test passed" "$WORK/self-test-nobody.out" || fail "--self-test as nobody did not pass"
  done_step
fi

step "connect against the frozen sandbox"
PORT=$("$VENV_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" sandbox --port "$PORT" > "$WORK/sandbox.out" 2> "$WORK/sandbox.err" &
SANDBOX_PID=$!
for _ in $(seq 100); do
  grep -q "Redirect URI:" "$WORK/sandbox.out" 2>/dev/null && break
  kill -0 "$SANDBOX_PID" 2>/dev/null || { cat "$WORK/sandbox.err" >&2; fail "the sandbox exited"; }
  sleep 0.1
done
grep -q "Redirect URI:" "$WORK/sandbox.out" || fail "the sandbox printed no instructions"
field() { sed -n "s/^  $1: *//p" "$WORK/sandbox.out" | head -n1; }
ACCOUNT=$(field "Account address")
CLIENT_ID=$(field "Client ID")
REDIRECT_URI=$(field "Redirect URI")
CODE=$(curl -fsS "http://127.0.0.1:$PORT/_sandbox/code?client_id=$CLIENT_ID")
[ -n "$CODE" ] || fail "no code from the sandbox"
mkdir -p "$WORK/x"
AMOCRM_CLIENT_SECRET=$(field "Client secret") "$BIN" connect --account "$ACCOUNT" --client-id "$CLIENT_ID" \
  --redirect-uri "$REDIRECT_URI" --code "$CODE" --env "$WORK/x/.env" || fail "connect exited $?"
for key in AMOCRM_BASE_URL AMOCRM_CLIENT_ID AMOCRM_CLIENT_SECRET AMOCRM_REDIRECT_URI AMOCRM_ACCESS_TOKEN \
    AMOCRM_REFRESH_TOKEN AMOCRM_TOKEN_EXPIRES_AT; do
  grep -q "^$key=." "$WORK/x/.env" || fail ".env has no $key"
done
[ "$(stat -c %a "$WORK/x/.env")" = 600 ] || fail ".env is not 0600"
"$BIN" check --env "$WORK/x/.env" > /dev/null || fail "check exited non-zero"
"$BIN" test --env "$WORK/x/.env" || fail "test exited non-zero"
kill "$SANDBOX_PID"; wait "$SANDBOX_PID" 2>/dev/null || true; SANDBOX_PID=""
done_step

step "export-setup, and --setup FILE opens the wizard (offscreen, 5 s)"
"$BIN" export-setup --env "$WORK/x/.env" --restart-cmd "true" --output "$WORK/backend.amocrm-setup" \
  || fail "export-setup exited $?"
grep -q '^format = 1$' "$WORK/backend.amocrm-setup" || fail "the setup file has no format = 1"
if grep -q "$(field "Client secret")" "$WORK/backend.amocrm-setup"; then fail "the setup file holds the secret"; fi
"$BIN" --setup "$WORK/backend.amocrm-setup" > "$WORK/setup.out" 2> "$WORK/setup.err" &
SETUP_PID=$!
sleep 5
kill -0 "$SETUP_PID" 2>/dev/null || { cat "$WORK/setup.out" "$WORK/setup.err" >&2; fail "--setup FILE exited within 5 s"; }
if grep -q "Traceback" "$WORK/setup.err"; then cat "$WORK/setup.err" >&2; fail "--setup FILE raised"; fi
kill -TERM "$SETUP_PID"; wait "$SETUP_PID" 2>/dev/null || true; SETUP_PID=""
done_step

# The file type's registration works only once installed: dpkg's triggers (shared-mime-info,
# desktop-file-utils) build the caches that file managers read. Root only (CI), removed after.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  step "install the .deb: *.amocrm-setup opens amocrm-wizard --setup"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends shared-mime-info desktop-file-utils \
    >/dev/null
  INSTALLED=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$ROOT_DIR/$DEB" >/dev/null
  [ -f /usr/share/mime/application/x-amocrm-setup.xml ] || fail "the MIME database does not know application/x-amocrm-setup"
  grep -q '^[0-9]*:application/x-amocrm-setup:\*\.amocrm-setup$' /usr/share/mime/globs2 \
    || fail "*.amocrm-setup is not in the MIME globs"
  grep -q '^application/x-amocrm-setup=.*amocrm-wizard-setup\.desktop' /usr/share/applications/mimeinfo.cache \
    || fail "no desktop entry opens application/x-amocrm-setup"
  grep -q '^Exec=amocrm-wizard --setup %f$' /usr/share/applications/amocrm-wizard-setup.desktop \
    || fail "the installed entry does not run amocrm-wizard --setup FILE"
  dpkg --purge amocrm-wizard >/dev/null
  INSTALLED=0
  if grep -q 'amocrm-setup' /usr/share/mime/globs2; then fail "the MIME type outlived the package"; fi
  done_step
fi

step "--demo offscreen for 8 s"
"$BIN" --demo > "$WORK/demo.out" 2> "$WORK/demo.err" &
DEMO_PID=$!
sleep 8
if ! kill -0 "$DEMO_PID" 2>/dev/null; then
  wait "$DEMO_PID" && rc=0 || rc=$?
  cat "$WORK/demo.out" "$WORK/demo.err" >&2
  fail "--demo exited (code $rc) within 8 s"
fi
if grep -q "Traceback" "$WORK/demo.err"; then cat "$WORK/demo.err" >&2; fail "--demo raised"; fi
kill -TERM "$DEMO_PID"
for _ in $(seq 50); do kill -0 "$DEMO_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$DEMO_PID" 2>/dev/null; then kill -KILL "$DEMO_PID"; fi
wait "$DEMO_PID" 2>/dev/null || true
DEMO_PID=""
echo "--demo was still running after 8 s; terminated"
done_step

step "bundle checks (tests/packaging)"
cd "$ROOT_DIR"
AMOCRM_WIZARD_BUNDLE="$TARGET/opt/amocrm-wizard" AMOCRM_WIZARD_DEB="$DEB" \
  "$VENV_PY" -m pytest -q -p no:cacheprovider -m "not slow" tests/packaging   # slow: the wheel tests, in the suite
done_step

echo
echo "Package test passed ($(du -sm dist/amocrm-wizard | cut -f1) MiB bundle, $(mib "$DEB") MiB .deb):"
printf '  %s\n' "${TIMINGS[@]}"
printf '  %-44s %7d s\n' "total" $((SECONDS - SECONDS_AT_START))
