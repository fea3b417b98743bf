"""The sandbox account's CRM data: the account itself and a few deals (leads)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from . import problems

ACCOUNT_ID = 31_000_001
USER_ID = 9_000_001
PIPELINE_ID = 1

# Fields a PATCH may change, with the type amoCRM insists on.
_EDITABLE: dict[str, type] = {
    "name": str,
    "price": int,
    "status_id": int,
    "pipeline_id": int,
    "responsible_user_id": int,
}


def _account(base_url: str) -> dict[str, Any]:
    return {
        "id": ACCOUNT_ID,
        "name": "Sandbox Company",
        "subdomain": "sandbox",
        "created_at": 1_700_000_000,
        "created_by": USER_ID,
        "updated_at": 1_700_000_000,
        "updated_by": USER_ID,
        "current_user_id": USER_ID,
        "country": "RU",
        "currency": "RUB",
        "currency_symbol": "₽",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "mobile_feature_version": 0,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        "_links": {"self": {"href": f"{base_url}/api/v4/account"}},
    }


def _seed_leads() -> dict[int, dict[str, Any]]:
    seeds = [
        (10001, "First deal", 101),
        (10002, "Second deal", 101),
        (10003, "Big contract", 102),
    ]
    return {
        lead_id: {
            "id": lead_id,
            "name": name,
            "price": 0,
            "responsible_user_id": USER_ID,
            "status_id": status_id,
            "pipeline_id": PIPELINE_ID,
            "created_at": 1_700_000_000,
            "updated_at": 1_700_000_000,
            "account_id": ACCOUNT_ID,
        }
        for lead_id, name, status_id in seeds
    }


class Crm:
    """Account and deals, with amoCRM v4's response shapes.

    ``account`` and ``leads`` are plain dicts tests may read or edit directly; the API side
    copies under a lock so a concurrent PATCH never hands out a half-updated deal.
    """

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._lock = threading.Lock()
        self.account: dict[str, Any] = _account(base_url)
        self.leads: dict[int, dict[str, Any]] = _seed_leads()
        self.blocked = False  # the account is blocked for abuse: the API answers 403

    def _lead_link(self, lead_id: int) -> dict[str, Any]:
        return {"self": {"href": f"{self._base_url}/api/v4/leads/{lead_id}"}}

    def get_account(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.account)

    def get_lead(self, lead_id: int) -> dict[str, Any]:
        # Real amoCRM answers 204 for an unknown deal; 404 problem-JSON is clearer for clients.
        with self._lock:
            lead = self.leads.get(lead_id)
            if lead is None:
                raise problems.not_found(f"Lead {lead_id} not found")
            return {
                **lead,
                "_links": self._lead_link(lead_id),
                "_embedded": {"tags": [], "companies": []},
            }

    def list_leads(self) -> dict[str, Any]:
        with self._lock:
            leads = [{**lead, "_links": self._lead_link(lead["id"])} for lead in self.leads.values()]
        return {
            "_page": 1,
            "_links": {"self": {"href": f"{self._base_url}/api/v4/leads"}},
            "_embedded": {"leads": leads},
        }

    def update_lead(self, lead_id: int, body: object, now: float) -> dict[str, Any]:
        """``PATCH /api/v4/leads/{id}``: amoCRM answers with the id, updated_at and link."""
        changes = _validated_changes(body)
        with self._lock:
            self._require_locked(lead_id)
            return self._apply_locked(lead_id, changes, int(now))

    def update_leads(self, body: object, now: float) -> dict[str, Any]:
        """``PATCH /api/v4/leads`` with a list: all deals change, or none does."""
        if not isinstance(body, list) or not body:
            raise problems.bad_request("Request validation failed", [_error("", "a non-empty list")])
        batch: list[tuple[int, dict[str, Any]]] = []
        for item in body:
            lead_id = item.get("id") if isinstance(item, dict) else None
            if not _is_int(lead_id):
                raise problems.bad_request("Request validation failed", [_error("id", "an integer")])
            assert isinstance(lead_id, int)
            batch.append((lead_id, _validated_changes({k: v for k, v in item.items() if k != "id"})))
        with self._lock:
            for lead_id, _ in batch:
                self._require_locked(lead_id)
            updated = [
                {**self._apply_locked(lead_id, changes, int(now)), "request_id": str(index)}
                for index, (lead_id, changes) in enumerate(batch)
            ]
        return {
            "_links": {"self": {"href": f"{self._base_url}/api/v4/leads"}},
            "_embedded": {"leads": updated},
        }

    def _require_locked(self, lead_id: int) -> None:
        if lead_id not in self.leads:
            raise problems.not_found(f"Lead {lead_id} not found")

    def _apply_locked(self, lead_id: int, changes: Mapping[str, Any], now: int) -> dict[str, Any]:
        lead = self.leads[lead_id]
        lead.update(changes)
        lead["updated_at"] = now
        return {"id": lead_id, "updated_at": now, "_links": self._lead_link(lead_id)}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _error(path: str, expected: str) -> dict[str, str]:
    return {"code": "InvalidType", "path": path, "detail": f"This value should be {expected}."}


def _validated_changes(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise problems.bad_request("Request validation failed", [_error("", "an object")])
    changes: dict[str, Any] = {}
    for key, value in body.items():
        expected = _EDITABLE.get(key)
        if expected is None:
            continue  # fields the sandbox does not model are accepted and ignored
        ok = _is_int(value) if expected is int else isinstance(value, expected)
        if not ok:
            raise problems.bad_request("Request validation failed", [_error(key, expected.__name__)])
        changes[key] = value
    return changes
