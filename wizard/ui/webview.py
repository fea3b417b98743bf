"""The embedded consent browser. Imported only on entering the consent page: QtWebEngine
costs hundreds of milliseconds and the first window must not wait for it.

``OAuthPage.acceptNavigationRequest`` builds a plain :class:`NavigationRequest`, asks the
Qt-free decider it was given (:meth:`wizard.core.consent_flow.ConsentFlow.navigate`),
emits what it saw and returns the verdict. It sees server-side 302s before any request
leaves, so the redirect to the integration is cancelled there and never loaded. Changes
in loading go out as plain :class:`LoadEvent` values too.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QUrl, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineLoadingInfo,
    QWebEngineNewWindowRequest,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from wizard.core.consent_flow import Load, LoadEvent
from wizard.core.navigation import Kind, NavigationRequest, Verdict

Decider = Callable[[NavigationRequest], Verdict]

NAVIGATION_KINDS: dict[QWebEnginePage.NavigationType, Kind] = {
    QWebEnginePage.NavigationType.NavigationTypeLinkClicked: Kind.LINK,
    QWebEnginePage.NavigationType.NavigationTypeTyped: Kind.TYPED,
    QWebEnginePage.NavigationType.NavigationTypeFormSubmitted: Kind.FORM,
    QWebEnginePage.NavigationType.NavigationTypeBackForward: Kind.BACK_FORWARD,
    QWebEnginePage.NavigationType.NavigationTypeReload: Kind.RELOAD,
    QWebEnginePage.NavigationType.NavigationTypeRedirect: Kind.REDIRECT,
    QWebEnginePage.NavigationType.NavigationTypeOther: Kind.OTHER,
}

LOAD_STATUSES: dict[QWebEngineLoadingInfo.LoadStatus, Load] = {
    QWebEngineLoadingInfo.LoadStatus.LoadStartedStatus: Load.STARTED,
    QWebEngineLoadingInfo.LoadStatus.LoadSucceededStatus: Load.SUCCEEDED,
    QWebEngineLoadingInfo.LoadStatus.LoadStoppedStatus: Load.STOPPED,
    QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus: Load.FAILED,
}


def load_event(info: QWebEngineLoadingInfo) -> LoadEvent:
    failed_with_page = info.errorDomain() == QWebEngineLoadingInfo.ErrorDomain.HttpStatusCodeDomain
    status = LOAD_STATUSES.get(info.status(), Load.FAILED)
    return LoadEvent(status, int(info.errorCode()) if failed_with_page and status is Load.FAILED else 0)


def _refuse_all(_request: NavigationRequest) -> Verdict:
    return Verdict.BLOCK


class OAuthPage(QWebEnginePage):
    #: (NavigationRequest, Verdict): every navigation the page saw and what was decided.
    navigation_requested = Signal(object, object)
    #: (LoadEvent): every change in loading, as a plain value.
    load_changed = Signal(object)

    def __init__(self, profile: QWebEngineProfile, parent: QObject | None = None) -> None:
        super().__init__(profile, parent)
        self._decide: Decider = _refuse_all
        self._connect_signals()

    def _connect_signals(self) -> None:
        self.newWindowRequested.connect(self._on_new_window_requested)
        self.loadingChanged.connect(self._on_loading_changed)

    def set_decider(self, decide: Decider) -> None:
        self._decide = decide

    def acceptNavigationRequest(
        self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        text = url.toString(QUrl.ComponentFormattingOption.FullyEncoded) if isinstance(url, QUrl) else url
        request = NavigationRequest(text, bool(is_main_frame), NAVIGATION_KINDS.get(nav_type, Kind.OTHER))
        verdict = self._decide(request)
        self.navigation_requested.emit(request, verdict)
        return verdict is Verdict.FOLLOW

    def _on_loading_changed(self, info: QWebEngineLoadingInfo) -> None:
        self.load_changed.emit(load_event(info))

    def _on_new_window_requested(self, request: QWebEngineNewWindowRequest) -> None:
        # A target=_blank link or window.open: never a second window; treat it as a link
        # and load it here only if it is amoCRM.
        url = request.requestedUrl()
        text = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
        plain = NavigationRequest(text, True, Kind.NEW_WINDOW)
        verdict = self._decide(plain)
        self.navigation_requested.emit(plain, verdict)
        if verdict is Verdict.FOLLOW:
            self.load(url)


class ConsentBrowser(QWidget):
    """A QWebEngineView on an off-the-record profile (no cookies or cache kept on disk).

    Teardown order matters: a profile must outlive every page using it. The profile is
    made a child of the page, so Qt deletes it right after the page's own destructor ran;
    the page is a child of the view, which is a child of this widget.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = QWebEngineView(self)
        # No storage name: off the record.
        self.profile = QWebEngineProfile()
        self.profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        self.profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
        self.page = OAuthPage(self.profile, self.view)
        self.profile.setParent(self.page)
        settings = self.page.settings()
        settings.setAttribute(QWebEngineSettings.WebAttribute.LocalStorageEnabled, False)
        settings.setAttribute(QWebEngineSettings.WebAttribute.PluginsEnabled, False)
        self.view.setPage(self.page)
        self._retranslate()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.setFocusProxy(self.view)

    def _retranslate(self) -> None:
        self.view.setAccessibleName(self.tr("amoCRM consent page"))
        self.view.setAccessibleDescription(
            self.tr("The amoCRM page where you allow the integration to access your account.")
        )

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._retranslate()
        super().changeEvent(event)

    def set_language(self, language: str) -> None:
        """amoCRM's own page in the admin's language (the Accept-Language header)."""
        wanted = "ru-RU,ru;q=0.9,en;q=0.5" if language == "ru" else "en-US,en;q=0.9"
        self.profile.setHttpAcceptLanguage(wanted)

    def load(self, url: str) -> None:
        self.view.load(QUrl(url))

    def stop(self) -> None:
        self.view.stop()
