"""From a parsed HTTP request to a complete response: the sandbox's URL map.

The HTTP handler in :mod:`.server` only parses and sends; every decision is made here, on plain
:class:`Request`/:class:`Response` values.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlencode

from . import pages, problems
from .clock import SandboxClock
from .crm import Crm
from .faults import Fault, FaultInjector
from .jwt_tokens import unverified_audience
from .oauth import AuthorizationServer
from .problems import PROBLEM_JSON, Problem
from .ratelimit import RateLimiter
from .stats import StatsCounter

HTML = "text/html; charset=utf-8"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"

_LEAD_PATH = re.compile(r"^/api/v4/leads/(\d+)$")
#: Where amoCRM tells a refresh token's holder the account's current address.
SUBDOMAIN_PATH = "/oauth2/account/current/subdomain"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # without the query string
    query: Mapping[str, str]  # first value of each parameter
    headers: Mapping[str, str]  # case-insensitive (an email.message.Message from http.server)
    body: bytes
    url: str  # the full address as the browser sees it


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(status: int, data: object, content_type: str = JSON) -> Response:
    return Response(status, json.dumps(data, ensure_ascii=False).encode(), content_type)


def problem_response(problem: Problem) -> Response:
    return json_response(problem.status, problem.body, PROBLEM_JSON)


def _html_status(status: int) -> Response:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # a status http.HTTPStatus does not name, e.g. from fail_next(status=599)
        reason = "Error"
    return Response(status, pages.plain_status(status, reason), HTML)


def too_many_requests() -> Response:
    response = _html_status(429)
    response.headers.append(("Retry-After", "1"))
    return response


def first_values(raw: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


@dataclass(frozen=True)
class Services:
    """What the router works with; owned and wired together by :class:`~wizard.sandbox.Sandbox`."""

    base_url: str
    referer: str  # host:port, as amoCRM's ``referer`` names the account host
    default_client_id: str
    clock: SandboxClock
    oauth: AuthorizationServer
    crm: Crm
    stats: StatsCounter
    faults: FaultInjector
    limiter: RateLimiter


class Router:
    def __init__(self, services: Services) -> None:
        self._s = services
        #: host:port the account is served at now, and those it was moved away from.
        self.netloc = services.referer
        self.old_netlocs: set[str] = set()
        self._routes: dict[str, dict[str, Callable[[Request], Response]]] = {
            "/": {"GET": self._index},
            "/oauth": {"GET": self._consent},
            "/oauth/decide": {"POST": self._decide},
            "/callback": {"GET": self._callback},
            "/oauth2/access_token": {"POST": self._token},
            SUBDOMAIN_PATH: {"GET": self._current_subdomain},
            "/api/v4/account": {"GET": self._account},
            "/api/v4/leads": {"GET": self._list_leads, "PATCH": self._patch_leads},
            "/_sandbox/code": {"GET": self._control_code},
            "/_sandbox/stats": {"GET": self._control_stats},
        }

    def handle(self, request: Request) -> Response:
        stats = self._s.stats
        stats.bump("requests")
        if request.path.startswith("/api/"):
            stats.bump("api_calls")
        delay = self._s.faults.take_delay(request.path)
        if delay:
            time.sleep(delay)
        fault = self._s.faults.take(request.path)
        if fault is not None:
            stats.bump("injected_failures")
            return self._fault_response(fault)
        try:
            moved = self._moved_away(request)
            return moved if moved is not None else self._route(request)
        except Problem as problem:
            return problem_response(problem)

    def move(self, netloc: str) -> None:
        """The account's subdomain changed: it is served at ``netloc`` from now on."""
        self.old_netlocs.add(self.netloc)
        self.netloc = netloc

    def _moved_away(self, request: Request) -> Response | None:
        """At an address the account left, the token endpoint answers 404 and the API 401
        (the API domain keeps answering the subdomain lookup)."""
        if request.headers.get("Host", "") not in self.old_netlocs or request.path == SUBDOMAIN_PATH:
            return None
        if request.path == "/oauth2/access_token":
            raise problems.not_found("Account not found")
        if request.path.startswith("/api/"):
            raise problems.unauthorized()
        return None

    def _route(self, request: Request) -> Response:
        methods = self._routes.get(request.path)
        if methods is None and _LEAD_PATH.match(request.path):
            methods = {"GET": self._get_lead, "PATCH": self._patch_lead}
        if methods is None:
            raise problems.not_found(f"No route for {request.path}")
        handler = methods.get(request.method)
        if handler is None:
            raise problems.method_not_allowed()
        return handler(request)

    def _fault_response(self, fault: Fault) -> Response:
        if fault.status == 429:
            self._s.stats.bump("rate_limited")
            return too_many_requests()
        if fault.body == "html":
            return _html_status(fault.status)
        return problem_response(problems.server_error(fault.status))

    def _limited(self, client_id: str) -> bool:
        if self._s.limiter.allow(client_id):
            return False
        self._s.stats.bump("rate_limited")
        return True

    # -- pages -----------------------------------------------------------------------------------

    def consent_url(self, client_id: str, state: str = "sandbox") -> str:
        query = urlencode({"client_id": client_id, "state": state, "mode": "post_message"})
        return f"{self._s.base_url}/oauth?{query}"

    def _index(self, request: Request) -> Response:
        client_id = self._s.default_client_id
        body = pages.index(
            self.consent_url(client_id),
            f"/_sandbox/code?client_id={client_id}",
            "/_sandbox/stats",
        )
        return Response(200, body, HTML)

    def _consent(self, request: Request) -> Response:
        # redirect_uri, response_type and approval_prompt (sent by amoCRM's PHP provider) are
        # tolerated and ignored: the registered redirect URI is always the one used.
        client_id = request.query.get("client_id", "")
        refusal = self._consent_refusal(client_id)
        if refusal is not None:
            return refusal
        integration = self._s.oauth.require(client_id)
        body = pages.consent(
            integration_name=integration.name,
            account_name=str(self._s.crm.account.get("name", "")),
            client_id=client_id,
            state=request.query.get("state", ""),
            mode=request.query.get("mode", "post_message"),
            language=pages.language_of(
                request.headers.get("Accept-Language") or "", request.query.get("lang", "")
            ),
        )
        return Response(200, body, HTML)

    def _consent_refusal(self, client_id: str) -> Response | None:
        """An HTML error page (400, no redirect) when there is no usable integration."""
        if self._s.oauth.get(client_id) is None:
            message = "The client_id parameter is missing or names no integration in this account."
            return Response(400, pages.error("Integration not found", message), HTML)
        if self._s.oauth.is_disabled(client_id):
            message = "The account administrator has switched this integration off."
            return Response(400, pages.error("Integration disabled", message), HTML)
        return None

    def _decide(self, request: Request) -> Response:
        form = first_values(request.body.decode("utf-8", "replace"))
        client_id = form.get("client_id", "")
        refusal = self._consent_refusal(client_id)
        if refusal is not None:
            return refusal
        allow = form.get("decision") == "allow"
        location = self._s.oauth.decide(client_id, form.get("state", ""), allow, self.netloc)
        return Response(302, b"", HTML, [("Location", location)])

    def _callback(self, request: Request) -> Response:
        return Response(200, pages.callback(request.url), HTML)

    # -- token endpoint --------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        params = _token_params(request)
        if self._limited(params.get("client_id", "")):
            return too_many_requests()
        if self._s.crm.blocked:
            return self._blocked()
        return json_response(200, self._s.oauth.token_grant(params))

    def _current_subdomain(self, request: Request) -> Response:
        """What amoCRM answers a refresh token's holder about the account's current address."""
        self._s.stats.bump("subdomain_lookups")
        if not self._s.oauth.refresh_token_is_live(request.headers.get("X-Refresh-Token", "")):
            raise problems.unauthorized()
        account = self._s.crm.account
        return json_response(
            200,
            {
                "id": account["id"],
                "subdomain": account["subdomain"],
                "domain": self.netloc,
                "top_level_domain": "ru",
            },
        )

    def _blocked(self) -> Response:
        self._s.stats.bump("blocked")
        return Response(403, pages.blocked(), HTML)

    # -- API -------------------------------------------------------------------------------------

    def _api_claims(self, request: Request) -> dict[str, Any]:
        """Rate limit, account block and token check, in the order a client would meet them."""
        authorization = request.headers.get("Authorization")
        token = (authorization or "").partition(" ")[2].strip()
        # Decoding the token for its audience costs time; skip it when there is no limit.
        if self._s.limiter.rps is not None and self._limited(unverified_audience(token)):
            raise _Answer(too_many_requests())
        if self._s.crm.blocked:
            raise _Answer(self._blocked())
        return self._s.oauth.authenticate(authorization)

    def _account(self, request: Request) -> Response:
        return self._api(request, lambda: self._s.crm.get_account())

    def _list_leads(self, request: Request) -> Response:
        return self._api(request, self._s.crm.list_leads)

    def _get_lead(self, request: Request) -> Response:
        return self._api(request, lambda: self._s.crm.get_lead(_lead_id(request)))

    def _patch_lead(self, request: Request) -> Response:
        return self._api(
            request,
            lambda: self._s.crm.update_lead(_lead_id(request), _json_body(request), self._s.clock.now()),
        )

    def _patch_leads(self, request: Request) -> Response:
        return self._api(request, lambda: self._s.crm.update_leads(_json_body(request), self._s.clock.now()))

    def _api(self, request: Request, action: Callable[[], object]) -> Response:
        try:
            self._api_claims(request)
        except _Answer as answer:
            return answer.response
        return json_response(200, action(), "application/hal+json")

    # -- controls --------------------------------------------------------------------------------

    def _control_code(self, request: Request) -> Response:
        client_id = request.query.get("client_id") or self._s.default_client_id
        if self._s.oauth.get(client_id) is None:
            return Response(404, b"no integration with that client_id\n", TEXT)
        return Response(200, self._s.oauth.issue_code(client_id).encode(), TEXT)

    def _control_stats(self, request: Request) -> Response:
        return json_response(200, self._s.stats.snapshot().as_dict())


class _Answer(Exception):
    """A non-JSON answer (429, 403 page) raised from deep inside an API route."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _lead_id(request: Request) -> int:
    match = _LEAD_PATH.match(request.path)
    assert match is not None  # only routed here when it matched
    return int(match.group(1))


def _json_body(request: Request) -> object:
    try:
        return json.loads(request.body or b"null")
    except ValueError as exc:
        raise problems.bad_request("Request body is not valid JSON") from exc


def _token_params(request: Request) -> dict[str, str]:
    """The token request's parameters, from a JSON or a form body (amoCRM accepts both).

    Non-string JSON values are dropped, so they are reported like missing parameters.
    """
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    text = request.body.decode("utf-8", "replace")
    if content_type == "application/json" or (not content_type and text.lstrip().startswith("{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise problems.oauth_invalid_request("The request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise problems.oauth_invalid_request("The request body must be a JSON object")
        return {key: value for key, value in data.items() if isinstance(value, str)}
    return first_values(text)
