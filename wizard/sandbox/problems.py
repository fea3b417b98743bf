"""Error answers in the shapes amoCRM really sends (see /work/shared/amocrm-protocol.md).

The domain code raises a :class:`Problem`; the router turns it into an
``application/problem+json`` response. Keeping the bodies here means every status, title and
hint text the wizard must recognise is written down exactly once.
"""

from __future__ import annotations

PROBLEM_JSON = "application/problem+json"
OAUTH_PROBLEM_TYPE = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"

_OAUTH_TITLE = "Некорректный запрос"
_OAUTH_DETAIL = "В запросе отсутствует ряд параметров или параметры невалидны"

# Hints seen from the real token endpoint.
HINT_CODE_GARBAGE = "Cannot decrypt the authorization code"
HINT_CODE_REUSED = "Authorization code has been revoked"
HINT_CODE_EXPIRED = "Authorization code has expired"
HINT_CLIENT_ID = "Check the `client_id` parameter"
HINT_CLIENT_SECRET = "Check the `client_secret` parameter"
HINT_REDIRECT_URI = "Redirect URI is not associated with client"
HINT_TOKEN_REVOKED = "Token has been revoked"
# Hints not seen from amoCRM but worded as the league/oauth2-server library it runs on words them.
HINT_CODE_OTHER_CLIENT = "Authorization code was not issued to this client"
HINT_REFRESH_GARBAGE = "Cannot decrypt the refresh token"
HINT_REFRESH_OTHER_CLIENT = "Token is not linked to client"


class Problem(Exception):
    """An error answer: HTTP status plus the problem-JSON body."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        super().__init__(str(body.get("hint") or body.get("detail") or status))
        self.status = status
        self.body = body


def missing_parameter(name: str) -> Problem:
    """A required token-endpoint parameter is absent or not a string."""
    return oauth_invalid_request(f"Check the `{name}` parameter")


def oauth_invalid_request(hint: str, status: int = 400) -> Problem:
    """The token endpoint's usual refusal: the hint carries the reason."""
    return Problem(
        status,
        {
            "hint": hint,
            "title": _OAUTH_TITLE,
            "type": OAUTH_PROBLEM_TYPE,
            "status": status,
            "detail": _OAUTH_DETAIL,
        },
    )


def token_revoked(hint: str = HINT_TOKEN_REVOKED) -> Problem:
    """A refresh token that is spent, revoked or otherwise unusable: always 401."""
    return oauth_invalid_request(hint, status=401)


def invalid_client() -> Problem:
    """Wrong client secret: amoCRM answers 401 with a different title and no hint at all."""
    return Problem(
        401,
        {
            "title": "Некорректный клиент",
            "type": OAUTH_PROBLEM_TYPE,
            "status": 401,
            "detail": "Авторизация клиента не прошла",
        },
    )


def _http_problem(status: int, title: str, detail: str) -> Problem:
    return Problem(
        status,
        {
            "title": title,
            "type": f"https://httpstatus.es/{status}",
            "status": status,
            "detail": detail,
        },
    )


def unauthorized() -> Problem:
    """What the API says for a missing, bad, expired or killed access token."""
    return _http_problem(401, "Unauthorized", "Неверный логин или пароль")


def not_found(detail: str = "Not found") -> Problem:
    return _http_problem(404, "Not Found", detail)


def method_not_allowed() -> Problem:
    return _http_problem(405, "Method Not Allowed", "Method not allowed")


def internal_error() -> Problem:
    return _http_problem(500, "Internal Server Error", "Internal server error")


def server_error(status: int) -> Problem:
    """An injected failure with a JSON body (see fail_next)."""
    return _http_problem(status, "Server Error", "Sandbox injected failure")


def bad_request(detail: str, errors: list[dict[str, str]] | None = None) -> Problem:
    """API validation failure, in amoCRM v4's ``validation-errors`` shape when there are details."""
    problem = _http_problem(400, "Bad Request", detail)
    if errors:
        problem.body["validation-errors"] = [{"request_id": "0", "errors": errors}]
    return problem
