"""Bearer auth for requests that refreshes on 401, in the shape of requests' HTTPDigestAuth."""

from __future__ import annotations

from typing import Any

import requests
from requests.auth import AuthBase

from wizard.runtime.source import TokenSource

_BEARER = "Bearer "


class AmoCRMAuth(AuthBase):
    """Adds the current token to each request; on a 401, refreshes once and resends once."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = _BEARER + self.source.access_token()
        request.register_hook("response", self.handle_401)  # type: ignore[no-untyped-call]
        # Remember where a streamed/file body started so the retry can rewind it.
        body = request.body
        request._amocrm_body_pos = body.tell() if hasattr(body, "tell") else None  # type: ignore[attr-defined, union-attr]
        return request

    def handle_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "_amocrm_retried", False):
            return response
        sent = str(response.request.headers.get("Authorization", ""))
        stale = sent[len(_BEARER) :] if sent.startswith(_BEARER) else None
        sent_to = self.source.connection.base_url
        connection = self.source.refresh(stale_access_token=stale)
        assert connection.tokens is not None

        # Consume and release the first response so its connection can be reused.
        _ = response.content
        response.close()
        retry = response.request.copy()
        retry.headers["Authorization"] = _BEARER + connection.tokens.access_token
        if connection.base_url != sent_to and str(retry.url).startswith(sent_to + "/"):
            # The refresh found the account at a new address: the request follows it there.
            retry.prepare_url(connection.base_url + str(retry.url)[len(sent_to) :], None)
        retry._amocrm_retried = True  # type: ignore[attr-defined]
        position = getattr(response.request, "_amocrm_body_pos", None)
        if position is not None and hasattr(retry.body, "seek"):
            retry.body.seek(position)  # type: ignore[union-attr]
        adapter = response.connection
        second: requests.Response = adapter.send(retry, **kwargs)
        second.history.append(response)
        second.request = retry
        return second
