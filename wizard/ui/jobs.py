"""The work the pages hand to the worker: plain functions over the core, off the UI thread.

Messages made here are :class:`~wizard.ui.texts.UiText`, so an error raised in a job is
shown, and re-shown after a language switch, in the admin's language. Heavy modules
(requests, PyJWT, SQLAlchemy) are imported inside the jobs, never at import time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QT_TRANSLATE_NOOP

from wizard.core import errors as e
from wizard.ui.model import Result, TargetChoice
from wizard.ui.texts import UiText, ui_text

if TYPE_CHECKING:
    from wizard.core.connection import Connection
    from wizard.restart import RestartOutcome
    from wizard.schedule import SchedulePlan
    from wizard.targets import TokenTarget
    from wizard.targets.base import SaveReport


def open_choice(choice: TargetChoice, known_values: Mapping[str, str] | None = None) -> TokenTarget:
    try:
        return choice.open(known_values)
    except ImportError as exc:  # the database driver is optional in a trimmed build
        raise e.TargetError(
            ui_text(QT_TRANSLATE_NOOP("Messages", "Database targets are not available in this build.")),
            ui_text(QT_TRANSLATE_NOOP("Messages", "Save to a .env file instead.")),
            detail=str(exc),
        ) from exc


def _details(connection: Connection) -> dict[str, str]:
    """The connection's keys other than the tokens (a seed-shaped table may lack them)."""
    tokens = {"AMOCRM_ACCESS_TOKEN", "AMOCRM_REFRESH_TOKEN", "AMOCRM_TOKEN_EXPIRES_AT"}
    return {k: v for k, v in connection.to_values().items() if k not in tokens and v}


# --- Welcome ------------------------------------------------------------------------------


def read_job(choice: TargetChoice, known_values: Mapping[str, str]) -> Connection | None:
    target = open_choice(choice, known_values)
    try:
        return target.load()
    finally:
        target.close()


# --- Exchange -----------------------------------------------------------------------------


def exchange_job(connection: Connection, code: str) -> Result:
    from wizard.core import oauth

    account = connection.account
    tokens = oauth.exchange_code(
        account, connection.client_id, connection.client_secret, connection.redirect_uri, code
    )
    info = oauth.fetch_account(account, tokens.access_token)
    return Result(connection.with_tokens(tokens), info)


def long_lived_job(connection: Connection, token: str) -> Result:
    """A private integration's long-lived token: read its end from the JWT, then try it."""
    from wizard.core import oauth
    from wizard.core.tokens import TokenPair

    try:
        tokens = TokenPair.long_lived(token)
    except ValueError as exc:
        raise e.ConfigError(
            ui_text(QT_TRANSLATE_NOOP("Messages", "This is not a long-lived token.")),
            ui_text(
                QT_TRANSLATE_NOOP(
                    "Messages",
                    "Copy the long-lived token again, whole, from the private integration's "
                    "Keys and scopes tab in amoCRM.",
                )
            ),
        ) from exc
    info = oauth.fetch_account(connection.account, tokens.access_token)
    return Result(connection.with_tokens(tokens), info)


def test_job(choice: TargetChoice, known_values: Mapping[str, str]) -> Result:
    from wizard.runtime.client import AmoCRMClient

    with AmoCRMClient(open_choice(choice, known_values)) as client:
        info = client.account()
        return Result(client.source.connection, info, renewed=client.source.refresh_count > 0)


def renew_job(choice: TargetChoice, known_values: Mapping[str, str], restart_cmd: str = "") -> Result:
    from wizard.core import oauth
    from wizard.runtime.source import TokenSource

    target = open_choice(choice, known_values)
    try:
        source = TokenSource(target)
        connection = source.refresh()
        restarted = None
        if restart_cmd and source.refresh_count:  # the same rule as the CLI: a pair this run saved
            from wizard.restart import restart_captured

            restarted = restart_captured(target, restart_cmd)
    finally:
        target.close()
    assert connection.tokens is not None
    info = oauth.fetch_account(connection.account, connection.tokens.access_token)
    return Result(connection, info, renewed=True, restart=restarted)


# --- Save ---------------------------------------------------------------------------------


class Saved(NamedTuple):
    report: SaveReport
    keyring_note: UiText | None
    restart: RestartOutcome | None = None  # the backend's restart, when a command was given


def plan_job(choice: TargetChoice, connection: Connection, check: bool) -> SaveReport:
    target = open_choice(choice, _details(connection))
    try:
        if check:
            target.check_writable()
        return target.plan(connection)
    finally:
        target.close()


def save_job(choice: TargetChoice, connection: Connection, restart_cmd: str = "") -> Saved:
    """The target's one save path: it writes, reads back before it reports, and keeps the
    secret in the OS keyring (``wizard.targets.credentials``). Then the backend's restart,
    when there is a command, over the same connection."""
    target = open_choice(choice, _details(connection))
    restarted = None
    try:
        target.check_writable()
        report = target.save(connection)
        if restart_cmd:
            from wizard.restart import restart_captured

            restarted = restart_captured(target, restart_cmd)
    finally:
        target.close()
    return Saved(report, _keyring_note(report), restarted)


def _keyring_note(report: SaveReport) -> UiText | None:
    """Said on the Done page when the secret went to the target but not to the keyring
    (a secret kept nowhere else is in the report's "elsewhere" already)."""
    if report.kept_in_keyring is not False or "AMOCRM_CLIENT_SECRET" in report.elsewhere:
        return None
    return ui_text(
        QT_TRANSLATE_NOOP("Messages", "The OS keyring is not available; the secret was not kept there.")
    )


# --- Done: the scheduled renewal ------------------------------------------------------------


def schedule_plan_job(target_args: list[str]) -> SchedulePlan:
    from wizard import schedule

    return schedule.plan(target_args)


def schedule_install_job(plan: SchedulePlan) -> SchedulePlan:
    from wizard import schedule

    schedule.install(plan)  # looked up at call time: tests replace it
    return plan


# --- the unexpected -------------------------------------------------------------------------


def unexpected(exc: BaseException) -> e.WizardError:
    from wizard.core.redact import redact

    error = e.WizardError(
        ui_text(QT_TRANSLATE_NOOP("Messages", "Something unexpected went wrong.")),
        ui_text(
            QT_TRANSLATE_NOOP(
                "Messages",
                "Try again; if it happens again, send the log file to whoever maintains your integration.",
            )
        ),
        detail=redact(f"{type(exc).__name__}: {exc}"),
    )
    error.__cause__ = exc
    return error
