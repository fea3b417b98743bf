"""Page 6: what was connected, when it needs attention, and how to renew."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from wizard.core.redact import mask
from wizard.ui.base import WizardPage, paragraph
from wizard.ui.model import Mode, Session
from wizard.ui.widgets import local_time
from wizard.ui.worker import Worker


class DonePage(WizardPage):
    def __init__(self, session: Session, worker: Worker, parent: QWidget | None = None) -> None:
        super().__init__(session, worker, parent)
        self.setTitle(self.tr("All set"))
        self.setFinalPage(True)
        layout = QVBoxLayout(self)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName(self.tr("Summary"))
        layout.addWidget(self.summary)
        buttons = QHBoxLayout()
        self.copy = QPushButton(self.tr("Copy the summary (secrets masked)"), self)
        self.copy.setAccessibleDescription(
            self.tr(
                "Copies the summary to the clipboard with every secret shortened to its first characters."
            )
        )
        buttons.addWidget(self.copy)
        self.copied = QLabel(self)
        buttons.addWidget(self.copied, 1)
        layout.addLayout(buttons)
        self.renew = paragraph("", self)
        self.renew.setAccessibleName(self.tr("How to renew"))
        layout.addWidget(self.renew)
        layout.addStretch(1)
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.copy.clicked.connect(self._on_copy_clicked)

    def initializePage(self) -> None:
        self.copied.clear()
        result = self.session.result
        assert result is not None
        self.setSubTitle(
            {
                Mode.CONNECT: self.tr("The account is connected and the tokens are saved."),
                Mode.TEST: self.tr("The stored connection works."),
                Mode.RENEW: self.tr("The tokens were renewed and saved."),
            }[self.session.mode]
        )
        self.summary.setText("\n".join(f"{label}: {value}" for label, value in self.rows(shown=True)))
        tokens = result.connection.tokens
        assert tokens is not None
        end = tokens.refresh_expires_at
        if end is None:
            text = self.tr(
                "This is a long-lived token; it cannot be renewed. Create a new one in amoCRM before {when}."
            ).format(when=local_time(tokens.expires_at))
        else:
            text = self.tr(
                "The refresh token dies on {when} if nobody uses it. Your backend renews the tokens "
                "each time it refreshes them; to renew by hand run “amocrm-wizard refresh”, or open "
                "this wizard again and choose “Renew now”. If it has died, choose “Connect again”."
            ).format(when=local_time(end))
        for note in self.session.notes:
            text += "\n" + note
        self.renew.setText(text)

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
        rows = [
            (
                self.tr("Account"),
                self.tr("{name} (id {id})").format(name=info.get("name", "?"), id=info.get("id", "?")),
            ),
            (self.tr("Address"), connection.base_url),
            (self.tr("Client ID"), connection.client_id),
            (self.tr("Client secret"), mask(connection.client_secret)),
            (self.tr("Redirect URI"), connection.redirect_uri),
            (
                self.tr("Saved to"),
                self.session.saved.target if self.session.saved else self.session.target.value,
            ),
            (
                self.tr("Access token"),
                self.tr("{token} valid until {when}").format(
                    token=mask(tokens.access_token), when=when(tokens.expires_at)
                ),
            ),
        ]
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

    def _on_copy_clicked(self) -> None:
        text = "\n".join(f"{label}: {value}" for label, value in self.rows(shown=False))
        QGuiApplication.clipboard().setText(text)
        self.copied.setText(self.tr("Copied."))
