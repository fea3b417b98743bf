"""Page 6: what was connected, when it needs attention, how to renew, where the renewal
belongs when the backend runs on a server, and (decided here, done on Finish) the daily
renewal set up on this computer for the admin's own user where it has a scheduler."""

from __future__ import annotations

import os
import shlex
import shutil
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.core.errors import WizardError
from wizard.core.i18n import render
from wizard.core.redact import mask
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.jobs import schedule_install_job, schedule_plan_job
from wizard.ui.model import Mode, Session, TargetKind
from wizard.ui.setupexport import SetupExport
from wizard.ui.widgets import BusyIndicator, CommandBox, Notice, local_time
from wizard.ui.worker import Worker

if TYPE_CHECKING:
    from wizard.core.tokens import TokenPair
    from wizard.schedule import SchedulePlan


def masked_url(url: str) -> str:
    """A database URL with its password hidden (for showing, never for running)."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, parts.fragment))


def plan_where_possible(target_args: list[str]) -> SchedulePlan | None:
    """The renewal this computer can run, or None where it has no scheduler to run it."""
    plan = schedule_plan_job(target_args)
    if plan.kind == "cron" and shutil.which("crontab") is None:
        return None
    return plan


class DonePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setFinalPage(True)
        layout = QVBoxLayout(self)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        self.copy = QPushButton(self)
        self.copy.setAutoDefault(False)
        buttons.addWidget(self.copy)
        self.copied = QLabel(self)
        buttons.addWidget(self.copied, 1)
        layout.addLayout(buttons)
        self.setup_export = SetupExport(session, worker, self.texts, self)  # for an admin elsewhere
        layout.addWidget(self.setup_export)
        self.renew = paragraph("", self)
        layout.addWidget(self.renew)

        self.keep_alive = QGroupBox(self)
        box = QVBoxLayout(self.keep_alive)
        # On a server: the renewal belongs where the backend runs (issue 12, item 7).
        self.server = paragraph("", self.keep_alive)
        box.addWidget(self.server)
        self.server_command = CommandBox(self.keep_alive)
        box.addWidget(self.server_command)
        # On this computer, where it has a scheduler.
        self.schedule_busy = BusyIndicator(self.keep_alive)
        box.addWidget(self.schedule_busy)
        self.schedule = QCheckBox(self.keep_alive)
        self.schedule.setEnabled(False)
        box.addWidget(self.schedule)
        self.schedule_plan = paragraph("", self.keep_alive)
        box.addWidget(self.schedule_plan)
        self.schedule_command = CommandBox(self.keep_alive)
        self.schedule_command.hide()
        box.addWidget(self.schedule_command)
        self.schedule_notice = Notice(self.keep_alive)
        box.addWidget(self.schedule_notice)
        layout.addWidget(self.keep_alive)
        layout.addStretch(1)
        self.add_help(layout)

        self.plan: SchedulePlan | None = None
        #: False once planning found no scheduler on this computer (nothing is offered then).
        self.scheduler_found = True
        self.installed = False
        self._plan_job: int | None = None
        self._install_job: int | None = None
        self._plan_error: WizardError | None = None
        self._bind_texts()
        self._connect_signals()

    def _bind_texts(self) -> None:
        t = self.texts
        t.bind(self.setTitle, lambda: self.tr("All set"))
        t.bind(self.setSubTitle, self._subtitle)
        t.bind(self.summary.setAccessibleName, lambda: self.tr("Summary"))
        t.bind(self.copy.setText, lambda: self.tr("Copy the summary (secrets masked)"))
        t.bind(
            self.copy.setAccessibleDescription,
            lambda: self.tr(
                "Copies the summary to the clipboard with every secret shortened to its first characters."
            ),
        )
        t.bind(self.renew.setAccessibleName, lambda: self.tr("How to renew"))
        t.bind(self.keep_alive.setTitle, lambda: self.tr("Keep the connection alive"))
        t.bind(self.server.setAccessibleName, lambda: self.tr("Renewal on a server"))
        t.bind(
            self.schedule.setText,
            lambda: self.tr(
                "When I press Finish, set up a daily check on this computer that renews the tokens "
                "when they are 30 days old (no admin rights needed)"
            ),
        )
        t.bind(
            self.schedule.setAccessibleDescription,
            lambda: self.tr(
                "Adds a daily task for your user that renews the tokens when they are 30 days old, "
                "so the refresh token never dies unused."
            ),
        )
        t.bind(self.schedule_plan.setAccessibleName, lambda: self.tr("What the daily renewal does"))

    def _subtitle(self) -> str:
        if self.session.result is None:
            return ""
        return {
            Mode.CONNECT: self.tr("The account is connected and the tokens are saved."),
            Mode.TEST: self.tr("The stored connection works."),
            Mode.RENEW: self.tr("The tokens were renewed and saved."),
        }[self.session.mode]

    def help_text(self) -> str:
        return self.tr(
            "Your backend reads the tokens from where they were saved. An access token lives 24 hours "
            "and the refresh token 3 months; every renewal starts the 3 months again. If the backend "
            "runs on a server, set the renewal up on that server with the command shown. Otherwise "
            "tick the box: this computer then checks once a day and renews the tokens when they are "
            "30 days old, with the task scheduler built into the system.\n\n"
            "The integration itself is in amoCRM under Settings → Integrations (Настройки → Интеграции)."
        )

    def _connect_signals(self) -> None:
        self.copy.clicked.connect(self._on_copy_clicked)

    # --- QWizardPage ----------------------------------------------------------------

    def initializePage(self) -> None:
        self.texts.bind(self.copied.setText, lambda: "")
        self.installed = False
        self.schedule_notice.clear()
        assert self.session.result is not None
        self.texts.refresh()
        self._render()
        self._plan_schedule()

    def validatePage(self) -> bool:
        """Finish: set the renewal up first when the admin asked for it (off the UI thread)."""
        if self.installed or not (self.schedule.isVisible() and self.schedule.isChecked()):
            return True
        if self.plan is None or self.worker.is_running(self._install_job):
            return False
        plan = self.plan
        self.schedule_notice.clear()
        self.schedule_busy.start(lambda: self.tr("Setting up the daily renewal…"))
        self._install_job = self.worker.submit(
            lambda: schedule_install_job(plan), self._on_installed, self._on_install_failed
        )
        self.schedule.setEnabled(False)
        self.completeChanged.emit()
        return False  # Finish again, by _on_installed, once it is in place

    def isComplete(self) -> bool:
        return not self.worker.is_running(self._install_job)

    def retranslate(self) -> None:
        super().retranslate()
        if self.session.result is not None:
            self._render()

    # --- the summary ----------------------------------------------------------------

    def _tokens(self) -> TokenPair:
        result = self.session.result
        assert result is not None and result.connection.tokens is not None
        return result.connection.tokens

    def _render(self) -> None:
        self.summary.setText("\n".join(f"{label}: {value}" for label, value in self.rows(shown=True)))
        self.summary.setAccessibleDescription(self.summary.text())
        tokens = self._tokens()
        end = tokens.refresh_expires_at
        if end is None:
            text = self.tr(
                "This is a long-lived token. It ends on {when} and cannot be renewed: create a new one "
                "in amoCRM (Keys and scopes of the private integration) before then and run this wizard "
                "again. Its first page shows when the token ends."
            ).format(when=local_time(tokens.expires_at))
        else:
            text = self.tr(
                "The refresh token ends on {when} unless the tokens are renewed before then; each "
                "renewal gives it 3 more months. To renew by hand, open this wizard again and "
                "choose “Renew now”. If it has ended, choose “Connect again”."
            ).format(when=local_time(end))
        for note in self.session.notes:
            text += "\n" + self.tr(
                "The secret key is saved with the tokens; this computer's keyring could not keep a "
                "copy as well. You need not do anything: next time the wizard may ask you for the "
                "secret key again. ({reason})"
            ).format(reason=render(note))
        self.renew.setText(text)
        self.renew.setAccessibleDescription(text)
        self._render_schedule()

    def rows(self, *, shown: bool) -> list[tuple[str, str]]:
        """(label, value) of the summary; secrets are masked either way."""
        result = self.session.result
        assert result is not None
        connection = result.connection
        info = result.account_info
        tokens = connection.tokens
        assert tokens is not None
        from wizard.core.tokens import format_utc

        when = local_time if shown else format_utc
        saved_to = self.session.saved.target if self.session.saved else self.session.target.value
        rows = [
            (
                self.tr("Account"),
                self.tr("{name} (id {id})").format(name=info.get("name", "?"), id=info.get("id", "?")),
            ),
            (self.tr("Address"), connection.base_url),
            (self.tr("Integration ID"), connection.client_id or "—"),
            (self.tr("Secret key"), mask(connection.client_secret) or "—"),
            (self.tr("Redirect URI"), connection.redirect_uri or "—"),
            (self.tr("Saved to"), masked_url(saved_to)),
        ]
        if tokens.is_long_lived:
            rows.append(
                (
                    self.tr("Long-lived token"),
                    self.tr("{token} ends {when}; it cannot be renewed").format(
                        token=mask(tokens.access_token), when=when(tokens.expires_at)
                    ),
                )
            )
            return rows
        rows.append(
            (
                self.tr("Access token"),
                self.tr("{token} valid until {when}").format(
                    token=mask(tokens.access_token), when=when(tokens.expires_at)
                ),
            )
        )
        end = tokens.refresh_expires_at
        if end is not None:
            rows.append(
                (
                    self.tr("Refresh token"),
                    self.tr("{token} dies {when} if unused").format(
                        token=mask(tokens.refresh_token), when=when(end)
                    ),
                )
            )
        return rows

    # --- the scheduled renewal ----------------------------------------------------------

    def target_args(self) -> list[str]:
        """The flags the scheduled ``amocrm-wizard refresh`` needs to find this target."""
        choice = self.session.target
        if choice.kind is TargetKind.ENV:
            return ["--env", os.path.abspath(choice.value)]
        args = ["--db", choice.value]
        result = self.session.result
        if result is not None:  # a seed-shaped table may keep only the tokens
            connection = result.connection
            for flag, value in (
                ("--account", connection.base_url),
                ("--client-id", connection.client_id),
                ("--redirect-uri", connection.redirect_uri),
            ):
                if value:
                    args += [flag, value]
        return args

    def _plan_schedule(self) -> None:
        self.plan = None
        self._plan_error = None
        self.scheduler_found = True
        self.schedule.setChecked(False)
        self.schedule.setEnabled(False)
        if self._tokens().is_long_lived or self.session.prefill.is_demo:
            # Nothing to renew; or the demo, whose sandbox and .env are gone after it closes.
            self.schedule_busy.stop()
            self._render_schedule()
            return
        args = self.target_args()
        self.worker.cancel(self._plan_job)
        self.schedule_busy.start(lambda: self.tr("Checking how this computer runs daily tasks…"))
        self._plan_job = self.worker.submit(
            lambda: plan_where_possible(args), self._on_planned, self._on_plan_failed
        )
        self._render_schedule()

    def server_renewal_command(self) -> str:
        """The renewal command for the server the backend runs on (the target as saved here)."""
        from wizard.schedule import DEFAULT_AGE

        args = [masked_url(a) if a == self.session.target.value else a for a in self.target_args()]
        return shlex.join(["amocrm-wizard", "refresh", "--if-older-than", DEFAULT_AGE, *args])

    def _render_schedule(self) -> None:
        long_lived = self.session.result is not None and self._tokens().is_long_lived
        demo = self.session.prefill.is_demo
        offered = not (long_lived or demo or self._plan_error is not None or not self.scheduler_found)
        self.schedule.setVisible(offered)
        self.server.setVisible(not long_lived)
        self.server_command.setVisible(not long_lived)
        if not long_lived:
            self.server.setText(
                self.tr(
                    "If your backend runs on a server, the renewal belongs on that server: ask whoever "
                    "looks after it to have the server run the command below once a day (with the path the "
                    "backend uses there). A backend that gets its token with “amocrm-wizard token” renews "
                    "it by itself when needed, and needs nothing scheduled."
                )
            )
            self.server.setAccessibleDescription(self.server.text())
            self.server_command.set_text(self.server_renewal_command(), self.server.text())
        command_text = ""
        if long_lived:
            text = self.tr(
                "Nothing to schedule: a long-lived token cannot be renewed. Put its end date in your "
                "calendar; this wizard's first page shows it too."
            )
        elif demo:
            text = self.tr(
                "This is the demo: nothing is scheduled, because its sandbox and its .env file are "
                "removed when the wizard closes."
            )
        elif self._plan_error is not None:
            text = self.tr("The daily renewal cannot be set up on this computer: {reason} {hint}").format(
                reason=render(self._plan_error.message), hint=render(self._plan_error.hint)
            )
        elif not self.scheduler_found:
            text = self.tr(
                "This computer has no task scheduler the wizard can use, so no renewal is offered here. "
                "Set it up where the backend runs, as above."
            )
        elif self.plan is None:
            text = ""
        else:
            from wizard.schedule import cron_line

            target = self.session.target.value
            text = render(self.plan.description)
            # The crontab line (or the command) goes in a box of its own, never wrapped mid-flag.
            line = cron_line(self.plan.command)
            if self.plan.kind == "cron" and line in text:
                text = text.replace(line, "").rstrip()
                command_text = line
            else:
                command_text = shlex.join(self.plan.command)
            text = text.replace(target, masked_url(target))
            command_text = command_text.replace(target, masked_url(target))
            if self.session.target.kind is TargetKind.DB:
                text += "\n" + self.tr(
                    "The database address, with its password, is stored in the task's settings for your user."
                )
        self.schedule_plan.setText(text)
        self.schedule_plan.setAccessibleDescription(self.schedule_plan.text())
        self.schedule_command.setVisible(bool(command_text))
        if command_text:
            self.schedule_command.set_text(command_text, self.tr("What the daily renewal runs"))

    # --- slots ----------------------------------------------------------------------

    def _on_planned(self, plan: Any) -> None:
        self._plan_job = None
        self.schedule_busy.stop()
        self.plan = plan
        self.scheduler_found = plan is not None
        self.schedule.setEnabled(plan is not None)
        self._render_schedule()

    def _on_plan_failed(self, error: WizardError) -> None:
        self._plan_job = None
        self.schedule_busy.stop()
        self._plan_error = error
        self._render_schedule()

    def _on_installed(self, _plan: Any) -> None:
        self._install_job = None
        self.schedule_busy.stop()
        self.installed = True
        self.schedule_notice.show_message(
            Notice.Kind.SUCCESS, lambda: self.tr("The daily renewal is set up.")
        )
        self.completeChanged.emit()
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:
            wizard.accept()

    def _on_install_failed(self, error: WizardError) -> None:
        self._install_job = None
        self.schedule_busy.stop()
        self.schedule.setEnabled(True)
        self.schedule.setFocus()  # untick it, or tick it again after fixing the cause
        self.schedule_notice.show_error(
            error,
            lambda: self.tr(
                "Untick the box to finish without it. Whoever looks after your backend can set the "
                "renewal up by hand with the command shown on this page."
            ),
        )
        self.completeChanged.emit()

    def _on_copy_clicked(self) -> None:
        text = "\n".join(f"{label}: {value}" for label, value in self.rows(shown=False))
        QGuiApplication.clipboard().setText(text)
        self.texts.bind(self.copied.setText, lambda: self.tr("Copied."))
