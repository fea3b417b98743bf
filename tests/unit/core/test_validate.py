"""The Client ID check takes exactly the form amoCRM shows (``uuid`` alone takes more)."""

from __future__ import annotations

import re
import uuid

import pytest

from wizard.core import errors as e
from wizard.core import validate

#: The form the wizard has always accepted, kept here as the reference the check is held to.
CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

SAMPLE = "1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f"

FORMS = [
    SAMPLE,
    SAMPLE.upper(),
    f"  {SAMPLE}\n",
    str(uuid.uuid4()),
    "{" + SAMPLE + "}",
    "urn:uuid:" + SAMPLE,
    SAMPLE.replace("-", ""),
    "1a2b3c4d1a2b-3c4d-5e6f-1a2b-3c4d5e6f",  # hyphens in the wrong places
    "1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6",  # one digit short
    SAMPLE + "0",
    "1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6g",
    "1a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f\u0660",
    "1a2b3c4d-1a2b-3c4d-5e6f 1a2b3c4d5e6f",
    "1a2b3c4d-1a2b-3c4d-5e6f--1a2b3c4d5e6f",
    "",
    "not-a-uuid",
    "\uff11a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f",  # a full-width digit
    "+a2b3c4d-1a2b-3c4d-5e6f-1a2b3c4d5e6f",
]


@pytest.mark.parametrize("text", FORMS)
def test_client_id_accepts_exactly_the_canonical_form(text: str) -> None:
    wanted = text.strip().lower()
    if CANONICAL.fullmatch(wanted):
        assert validate.client_id(text) == wanted
    else:
        with pytest.raises(e.InvalidClientIdError):
            validate.client_id(text)


def test_the_sample_forms_cover_both_answers() -> None:
    accepted = [t for t in FORMS if CANONICAL.fullmatch(t.strip().lower())]
    assert 0 < len(accepted) < len(FORMS)
