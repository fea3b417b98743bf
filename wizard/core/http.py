"""HTTP plumbing shared by the core and the runtime client: sessions, timeouts, transport errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # requests costs ~100 ms to import; the consent URL and the GUI's first
    import requests  # pages must not pay for it, so it is imported where a request is made

from wizard import __version__
from wizard.core.errors import NetworkError, TLSError, TransportError
from wizard.core.i18n import _

#: (connect, read) seconds. Connecting is quick or hopeless; amoCRM answers in well under 20 s.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 20.0)
USER_AGENT = f"amocrm-wizard/{__version__}"


def new_session() -> requests.Session:
    import requests

    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # TLS verification is never switched off, whatever the environment says.
    session.verify = True
    session.trust_env = True
    return session


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> requests.Response:
    """One request, with requests' exceptions turned into the wizard's own."""
    import requests

    try:
        return session.request(method, url, timeout=timeout, verify=True, **kwargs)
    except requests.exceptions.RequestException as exc:
        raise transport_error(exc, url) from exc


def transport_error(exc: requests.exceptions.RequestException, url: str) -> TransportError:
    """The plain-words error for a request that never got an answer."""
    import requests

    host = urlsplit(url).netloc or url
    if isinstance(exc, requests.exceptions.SSLError):
        return TLSError(
            _("The secure connection to {host} could not be verified.", host=host),
            _(
                "Check the computer's date and time, and whether a proxy or antivirus intercepts "
                "https; then try again."
            ),
            detail=type(exc).__name__,
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return NetworkError(
            _("{host} did not answer in time.", host=host),
            _("Check the internet connection and try again in a minute."),
            detail=type(exc).__name__,
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError(
            _("Could not connect to {host}.", host=host),
            _("Check the internet connection and that the account address is right, then try again."),
            detail=type(exc).__name__,
        )
    return TransportError(
        _("The request to {host} failed.", host=host), _("Try again."), detail=type(exc).__name__
    )
