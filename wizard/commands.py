"""The headless commands behind ``amocrm-wizard connect|check|test|refresh|status|sandbox``.

Kept apart from ``wizard.cli`` so that opening the GUI never imports requests and the rest
of the protocol stack before the first window is up.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from typing import TextIO

from wizard import restart
from wizard.core import consent, oauth, validate
from wizard.core.account import Account, parse_account
from wizard.core.connection import (
    ACCESS_TOKEN,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    MAY_BE_EMPTY,
    OWNED_KEYS,
    REDIRECT_URI,
    SECRET_KEYS,
    SUBDOMAIN,
    Connection,
    checked,
)
from wizard.core.errors import ConfigError, IncompleteConfigError
from wizard.core.health import WARN_DAYS, health
from wizard.core.i18n import Text, _, render, say
from wizard.core.interrupts import deferred_interrupt, note_saved
from wizard.core.logs import LOGGER_NAME
from wizard.core.redact import mask, register_secret
from wizard.core.tokens import TokenPair, format_utc, utcnow
from wizard.targets import TokenTarget, open_target
from wizard.targets.credentials import TO_CALL, TO_REFRESH, found_nowhere

log = logging.getLogger(LOGGER_NAME)

SECRET_ENV = "AMOCRM_CLIENT_SECRET"


def _target(options: argparse.Namespace) -> TokenTarget:
    """The target, completed from the flags, the environment and the keyring in the
    contract's order (``wizard.targets.credentials``)."""
    return open_target(
        env=options.env,
        db=options.db,
        known_values=_known_values(options),
        ssh_key=getattr(options, "ssh_key", None),
        ssh_host_key=getattr(options, "ssh_host_key", None),
    )


def _known_values(options: argparse.Namespace) -> dict[str, str]:
    """What the flags say, as contract keys (the secret from --client-secret-stdin)."""
    known: dict[str, str] = {}
    if getattr(options, "account", None):
        account = parse_account(options.account)
        known[BASE_URL], known[SUBDOMAIN] = account.base_url, account.subdomain
    if getattr(options, "client_id", None):
        known[CLIENT_ID] = validate.client_id(options.client_id)
    if getattr(options, "redirect_uri", None):
        known[REDIRECT_URI] = validate.redirect_uri(options.redirect_uri)
    if getattr(options, "client_secret_stdin", False):
        known[CLIENT_SECRET] = sys.stdin.readline().strip()
    return known


# --- connect --------------------------------------------------------------------------


def cmd_connect(options: argparse.Namespace, out: TextIO) -> int:
    target = _target(options)
    found = target.read_values()  # flags first (credentials.resolve)
    # The flag as typed, so that what was left out of a pasted address can be said.
    account = parse_account(options.account or _pick(found.get(BASE_URL, ""), "--account"))
    if account.dropped:
        say(
            _(
                "Using the account address {base_url} (left out what followed it: {dropped}).",
                base_url=account.base_url,
                dropped=account.dropped,
            ),
            file=out,
        )
    client_id = validate.client_id(_pick(found.get(CLIENT_ID, ""), "--client-id"))
    redirect_uri = validate.redirect_uri(_pick(found.get(REDIRECT_URI, ""), "--redirect-uri"))
    secret = validate.client_secret(_client_secret(found))
    register_secret(secret)
    # Refuse now what a save would refuse later (an unwritable target, a value the target
    # cannot hold): a code spent on tokens we cannot store is lost.
    target.check_writable()
    target.plan(Connection(account.base_url, client_id, secret, redirect_uri))

    code = _obtain_code(options, account, client_id, out)
    register_secret(code)
    # amoCRM spends the code the moment it answers: the pair is saved before anything else
    # can fail, and a Ctrl+C in between waits for the save.
    with deferred_interrupt():
        tokens = oauth.exchange_code(account, client_id, secret, redirect_uri, code)
        connection = Connection(account.base_url, client_id, secret, redirect_uri, tokens)
        report = target.save(connection)  # the one save path: it keeps the secret in the keyring too
        note_saved(report.target)
    say(_("Saved to {target}: {keys}", target=report.target, keys=", ".join(report.written)), file=out)
    for key, where in report.elsewhere.items():
        say(f"  {key}: {render(where)}", file=out)
    _print_pair(tokens, out)

    restart_failure = restart.after_save(options, target, out)  # before the account test
    with restart.takes_precedence(restart_failure):
        info = _test_saved(target, out)
    log.info("Connected %s (account %s); saved to %s.", account.base_url, info.get("id"), report.target)
    say(
        _("Connected to “{name}” (account {id}).", name=info.get("name", "?"), id=info.get("id", "?")),
        file=out,
    )
    if restart_failure is not None:
        raise restart_failure
    return 0


def _test_saved(target: TokenTarget, out: TextIO) -> dict[str, object]:
    """The account test after connect, on what was saved: its failure keeps the new pair."""
    from wizard.core.errors import WizardError
    from wizard.runtime.client import AmoCRMClient

    try:
        with AmoCRMClient(target) as client:
            return client.account()
    except WizardError:
        say(
            _(
                "The new tokens are saved in {description}, but testing them failed:",
                description=target.description,
            ),
            file=out,
        )
        raise


def _pick(value: str, flag: str) -> str:
    """A value from the flags or the target (so "connect again" needs fewer flags)."""
    if not value:
        raise ConfigError(
            _("{flag} is missing.", flag=flag),
            _("Pass {flag} (or run the wizard without a command).", flag=flag),
        )
    return value


def _client_secret(found: dict[str, str]) -> str:
    """From --client-secret-stdin, the target, the environment or the keyring: never argv."""
    if found.get(CLIENT_SECRET):
        return found[CLIENT_SECRET]
    raise ConfigError(
        _("The client secret is missing."),
        _(
            "Set the {secret_env} environment variable, or pass --client-secret-stdin and type it.",
            secret_env=SECRET_ENV,
        ),
    )


def _obtain_code(options: argparse.Namespace, account: Account, client_id: str, out: TextIO) -> str:
    if options.code:
        return str(options.code).strip()
    if options.redirect_url:
        # The admin opened the consent page themselves: there is no state of ours to check.
        return consent.parse_callback(options.redirect_url, account, expected_state=None).code
    state = consent.new_state()
    say(
        _(
            "Open this address in a browser and press “Allow”. Then paste here the whole address\n"
            "the browser went to (it contains “code=”):"
        ),
        file=out,
    )
    say(f"\n  {consent.consent_url(account, client_id, state)}\n", file=out)
    out.flush()
    say(_("Address: "), end="", file=out, flush=True)
    pasted = sys.stdin.readline()
    if not pasted.strip():
        raise ConfigError(_("No address was pasted."), _("Run the command again and paste the address."))
    return consent.parse_callback(pasted, account, expected_state=state).code


# --- check, status --------------------------------------------------------------------


def cmd_check(options: argparse.Namespace, out: TextIO) -> int:
    target = _target(options)
    values = target.read_values()
    loopback = _is_loopback(values.get("AMOCRM_BASE_URL", ""))
    missing = []
    say(_("Configuration in {description}:", description=target.description), file=out)
    for key in OWNED_KEYS:
        value = values.get(key, "")
        allowed_empty = key in MAY_BE_EMPTY and key in values and (loopback or key != SUBDOMAIN)
        if value or allowed_empty:
            shown = mask(value) if key in SECRET_KEYS else (value or _("(empty: local sandbox)"))
            say(f"  ✓ {key}: {render(shown)}", file=out)
        else:
            missing.append(key)
            say(_("  ✗ {key}: missing", key=key), file=out)
    if missing:
        say(
            _(
                "{missing} of {total} keys are missing. Run amocrm-wizard to connect.",
                missing=len(missing),
                total=len(OWNED_KEYS),
            ),
            file=out,
        )
        return 1
    say(_("All keys are present."), file=out)
    return 0


def _is_loopback(base_url: str) -> bool:
    try:
        return parse_account(base_url).is_loopback
    except ConfigError:
        return False


def cmd_status(options: argparse.Namespace, out: TextIO) -> int:
    """Exit code for monitoring: 0 healthy, 1 ending within 14 days, 3 ended or refused."""
    connection = _stored(_target(options))
    tokens = connection.tokens
    assert tokens is not None
    now = utcnow()
    state = health(tokens, connection.refresh_rejected, now)
    say(_("Account: {url}", url=connection.base_url), file=out)
    access = _("expired") if state.access_expired else _("valid")
    say(
        _(
            "Access token: {state}, expires {when} ({relative})",
            state=access,
            when=format_utc(tokens.expires_at),
            relative=oauth.expires_in_words(tokens.expires_at, now),
        ),
        file=out,
    )
    if state.long_lived:
        say(
            _("Long-lived token: it cannot be renewed; create a new one in amoCRM before it ends."),
            file=out,
        )
        if state.days_left < WARN_DAYS:
            say(_("Warning: it ends in {days:.0f} days.", days=max(state.days_left, 0)), file=out)
        return state.exit_code
    assert state.refresh_issued_at and state.refresh_dies_at and state.refresh_age_days is not None
    say(
        _(
            "Refresh token: issued {issued} ({age:.0f} days ago), dies {end} if unused: {left:.0f} days left",
            issued=format_utc(state.refresh_issued_at),
            age=state.refresh_age_days,
            end=format_utc(state.refresh_dies_at),
            left=max(state.days_left, 0),
        ),
        file=out,
    )
    if state.rejected:
        say(
            _(
                "amoCRM refused this refresh token ({verdict}). "
                "Run amocrm-wizard and choose “Connect again”.",
                verdict=connection.refresh_rejected,
            ),
            file=out,
        )
    elif state.days_left <= 0:
        say(_("The refresh token has died. Run amocrm-wizard and choose “Connect again”."), file=out)
    elif state.days_left < 30:
        say(_("Renew soon: amocrm-wizard refresh"), file=out)
    return state.exit_code


def _stored(target: TokenTarget, needed: tuple[str, ...] = TO_CALL) -> Connection:
    """The stored connection, with every ``needed`` value found somewhere (else exit 1),
    held to the rules of typed values (exit 2 before anything is sent)."""
    values = target.read_values()
    connection = Connection.from_values(values)
    if not values.get(ACCESS_TOKEN):
        raise IncompleteConfigError(
            _("No amoCRM connection is stored in {description}.", description=target.description),
            _("Run amocrm-wizard to connect first."),
        )
    found_nowhere(target.description, {**values, BASE_URL: connection.base_url if connection else ""}, needed)
    assert connection is not None and connection.tokens is not None
    return checked(connection)


# --- test, refresh --------------------------------------------------------------------


def cmd_test(options: argparse.Namespace, out: TextIO) -> int:
    from wizard.runtime.client import AmoCRMClient

    target = _target(options)
    _stored(target, TO_REFRESH)
    with AmoCRMClient(target) as client:
        info = client.account()
        renewed = client.source.refresh_count
    say(
        _("Connected to “{name}” (account {id}).", name=info.get("name", "?"), id=info.get("id", "?")),
        file=out,
    )
    if renewed:
        say(
            _("The tokens were renewed and saved to {description}.", description=target.description), file=out
        )
    return 0


def cmd_refresh(options: argparse.Namespace, out: TextIO) -> int:
    from wizard.runtime.source import TokenSource

    target = _target(options)
    stored = _stored(target, TO_REFRESH)
    assert stored.tokens is not None
    if options.if_older_than is not None:
        age = utcnow() - stored.tokens.issued_at
        if age < options.if_older_than:
            say(
                _(
                    "Not renewed: the tokens are {age} old, less than {limit}.",
                    age=_days(age),
                    limit=_days(options.if_older_than),
                ),
                file=out,
            )
            return 0
    source = TokenSource(target)
    connection = source.refresh()
    assert connection.tokens is not None
    say(_("Tokens renewed and saved to {description}.", description=target.description), file=out)
    _print_pair(connection.tokens, out)
    # Only a pair this command saved restarts the backend (not one another process renewed).
    restart_failure = restart.after_save(options, target, out) if source.refresh_count else None
    if restart_failure is not None:
        raise restart_failure
    return 0


def _days(age: timedelta) -> Text:
    return _("{days:.1f} days", days=age.total_seconds() / 86400)


def _print_pair(tokens: TokenPair, out: TextIO) -> None:
    say(
        _(
            "Access token {token} valid until {end}",
            token=mask(tokens.access_token),
            end=format_utc(tokens.expires_at),
        ),
        file=out,
    )
    end = tokens.refresh_expires_at
    if end is not None:
        say(
            _(
                "Refresh token {token} dies {end} if unused.",
                token=mask(tokens.refresh_token),
                end=format_utc(end),
            ),
            file=out,
        )


# --- token ----------------------------------------------------------------------------


def cmd_token(options: argparse.Namespace, out: TextIO) -> int:
    """The credential helper: a live access token on stdout, and nothing else there.

    It runs on every backend start, so the path that needs no refresh only reads the
    target: requests, PyJWT and filelock come in with the token source, when a refresh is due.
    """
    refused = _refused_token() if options.stale else ""
    target = _target(options)
    connection = _stored(target)
    # A stored address that breaks the account rules is refused (exit 2) before the
    # backend is told to send the token there.
    base_url = connection.account.base_url
    tokens = connection.tokens
    assert tokens is not None
    margin = timedelta(seconds=options.min_valid)
    if not tokens.is_long_lived and (tokens.access_expired(margin=margin) or refused == tokens.access_token):
        from wizard.runtime.source import TokenSource

        found_nowhere(target.description, connection.to_values(), TO_REFRESH)
        # Single-flight: the source takes the target's lock and re-reads it, so when
        # another process renewed meanwhile its pair is printed and nothing is sent.
        connection = TokenSource(target, margin=margin).refresh(stale_access_token=tokens.access_token)
        tokens = connection.tokens
        assert tokens is not None
        # The refresh follows a subdomain move, so the address is the renewed connection's.
        base_url = connection.account.base_url
    if options.json:
        import json

        answer = {
            "access_token": tokens.access_token,
            "expires_at": format_utc(tokens.expires_at),
            "base_url": base_url,
        }
        out.write(json.dumps(answer) + "\n")
    else:
        out.write(tokens.access_token + "\n")
    return 0


def _refused_token() -> str:
    """The token a request was refused with, from stdin: argv would show it in the process list."""
    token = sys.stdin.readline().strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    if not token:
        raise ConfigError(
            _("--stale needs the refused access token on standard input, and none came."),
            _("Pipe it in, e.g. printf '%s' \"$TOKEN\" | amocrm-wizard token --stale."),
        )
    return token


# --- sandbox --------------------------------------------------------------------------


def cmd_sandbox(options: argparse.Namespace, out: TextIO) -> int:
    from wizard.sandbox import run

    if not 0 <= options.port < 65536:
        raise ConfigError(_("--port must be between 0 and 65535."), _("Pass a free port, e.g. --port 8765."))
    run(port=options.port, rate_limit=options.rate_limit, out=out)
    return 0


# --- export-setup ---------------------------------------------------------------------


def cmd_export_setup(options: argparse.Namespace, out: TextIO) -> int:
    """A ``*.amocrm-setup`` for an admin, from a working target (flags may override it)."""
    from wizard import setupfile

    target = _target(options)
    found = target.read_values()  # the flags first (credentials.resolve)
    setup = setupfile.Setup(
        account=parse_account(_pick(found.get(BASE_URL, ""), "--account")).base_url,
        client_id=_pick(found.get(CLIENT_ID, ""), "--client-id"),
        redirect_uri=_pick(found.get(REDIRECT_URI, ""), "--redirect-uri"),
        env="" if options.db else target.description,
        db=setupfile.without_password(options.db) if options.db else "",
        ssh_host_key=str(getattr(target.underlying(), "host_fingerprint", lambda: "")()),
        restart_cmd=options.restart_cmd or "",
    )
    text = setupfile.dumps(setup)
    if not options.output:
        out.write(text)
        return 0
    try:
        with open(options.output, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise ConfigError(
            _("Could not write {file}: {reason}.", file=options.output, reason=exc.strerror or exc),
            _("Choose another place with --output."),
        ) from exc
    say(
        _("Wrote the setup file {file}. Send it to the admin; it holds no secret.", file=options.output),
        file=out,
    )
    return 0


COMMANDS = {
    "connect": cmd_connect,
    "check": cmd_check,
    "test": cmd_test,
    "refresh": cmd_refresh,
    "status": cmd_status,
    "token": cmd_token,
    "sandbox": cmd_sandbox,
    "export-setup": cmd_export_setup,
}
