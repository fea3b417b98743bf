"""The sandbox's HTML pages. Self-contained: no external stylesheet, font, script or image,
because the consent page is shown inside the wizard's web view on machines without network."""

from __future__ import annotations

import functools
from html import escape

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; background: #f2f4f7;
       color: #1f2d3d; margin: 0; }
main { max-width: 460px; margin: 48px auto; background: #fff; border-radius: 8px;
       box-shadow: 0 2px 12px rgba(0, 0, 0, .12); padding: 28px 32px; }
.brand { color: #1e88e5; font-weight: 600; letter-spacing: .02em; font-size: 13px;
         text-transform: uppercase; margin-bottom: 12px; }
h1 { font-size: 20px; margin: 0 0 16px; line-height: 1.35; }
p { line-height: 1.5; }
ul { padding-left: 20px; color: #4a5868; }
.buttons { display: flex; gap: 12px; margin-top: 24px; }
button { flex: 1; font-size: 15px; padding: 10px 16px; border-radius: 4px; cursor: pointer;
         border: 1px solid #c5ccd6; background: #fff; color: #1f2d3d; }
button#allow { background: #1e88e5; border-color: #1e88e5; color: #fff; }
code { display: block; word-break: break-all; background: #f2f4f7; padding: 10px;
       border-radius: 4px; font-size: 13px; }
.error h1 { color: #c62828; }
"""


def language_of(accept_language: str, lang: str = "") -> str:
    """ "ru" when the ``lang`` parameter or the browser's Accept-Language puts Russian first
    (the wizard's view sends the admin's language), else "en"."""
    if lang.lower() in ("ru", "en"):
        return lang.lower()
    first = accept_language.split(",")[0].strip().lower()
    return "ru" if first.startswith("ru") else "en"


#: The consent page's words in Russian; the sandbox imitates amoCRM, which speaks both.
_RU = {
    "Sandbox amoCRM — access request": "Песочница amoCRM — запрос доступа",
    "Sandbox amoCRM — Allow {integration} access to account {account}?": (
        "Песочница amoCRM — разрешить интеграции {integration} доступ к аккаунту {account}?"
    ),
    "The integration will be able to:": "Интеграция сможет:",
    "read and change deals, contacts and companies": "читать и менять сделки, контакты и компании",
    "work with files and notifications": "работать с файлами и уведомлениями",
    "Deny": "Отказать",
    "Allow": "Разрешить",
    "Sandbox amoCRM": "Песочница amoCRM",
}


def _t(language: str, text: str) -> str:
    return _RU.get(text, text) if language == "ru" else text


def _page(title: str, body: str, css_class: str = "", language: str = "en") -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><main class="{css_class}"><div class="brand">{_t(language, "Sandbox amoCRM")}</div>'
        f"{body}</main></body></html>\n"
    ).encode()


def consent(
    *, integration_name: str, account_name: str, client_id: str, state: str, mode: str, language: str = "en"
) -> bytes:
    """The "Allow access?" page, in English or Russian. The buttons' ids ``allow``/``deny``
    are relied on by tests."""
    t = functools.partial(_t, language)
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(value)}">'
        for name, value in (("client_id", client_id), ("state", state), ("mode", mode))
    )
    heading = t("Sandbox amoCRM — Allow {integration} access to account {account}?").format(
        integration=escape(integration_name), account=escape(account_name)
    )
    body = (
        f"<h1>{heading}</h1>"
        f"<p>{t('The integration will be able to:')}</p>"
        f"<ul><li>{t('read and change deals, contacts and companies')}</li>"
        f"<li>{t('work with files and notifications')}</li></ul>"
        f'<form method="post" action="/oauth/decide">{hidden}<div class="buttons">'
        # Allow first, in reading and Tab order: it is what the admin came for.
        f'<button id="allow" type="submit" name="decision" value="allow">{t("Allow")}</button>'
        f'<button id="deny" type="submit" name="decision" value="deny">{t("Deny")}</button>'
        "</div></form>"
    )
    return _page(t("Sandbox amoCRM — access request"), body, language=language)


def error(title: str, message: str) -> bytes:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>", "error")


def callback(url: str) -> bytes:
    """The registered redirect address, for people connecting with their own browser."""
    body = (
        "<h1>This is the redirect address.</h1>"
        "<p>Copy the whole address from the address bar and paste it into amocrm-wizard.</p>"
        f'<p>The full address is:</p><code id="url">{escape(url)}</code>'
    )
    return _page("Sandbox amoCRM — redirect address", body)


def index(consent_url: str, code_url: str, stats_url: str) -> bytes:
    body = (
        "<h1>A local amoCRM look-alike for trying amocrm-wizard.</h1>"
        f'<ul><li><a href="{escape(consent_url)}">Consent page</a> for the default integration</li>'
        f'<li><a href="{escape(code_url)}">A fresh 20-minute authorization code</a></li>'
        f'<li><a href="{escape(stats_url)}">Request counters</a></li></ul>'
    )
    return _page("Sandbox amoCRM", body)


def plain_status(status: int, reason: str) -> bytes:
    """The bare HTML a front proxy sends for 429/5xx/403: deliberately not JSON."""
    return (
        f"<html><head><title>{status} {escape(reason)}</title></head><body>"
        f"<center><h1>{status} {escape(reason)}</h1></center><hr><center>nginx</center>"
        "</body></html>\n"
    ).encode()


def blocked() -> bytes:
    """amoCRM's answer to an account (or, on Kommo, an IP) blocked for abuse: an HTML page
    saying only "Error happen", whatever was asked, API or token endpoint."""
    return (
        b'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Error happen</title></head>'
        b"<body><h1>Error happen</h1></body></html>\n"
    )
