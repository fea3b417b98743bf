"""Every typed error has a title; redirect URI differences are named in plain words."""

import wizard.core.errors as errors
from wizard.core.catalogue import TITLES, describe, first_difference, redirect_uri_differences
from wizard.core.errors import ScheduleError, WizardError


def all_error_classes() -> list[type[WizardError]]:
    found, stack = [], [WizardError]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def test_every_error_code_has_a_title() -> None:
    assert ScheduleError in all_error_classes()
    missing = sorted({cls.code for cls in all_error_classes()} - TITLES.keys())
    assert missing == []
    assert {
        cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, WizardError)
    } <= TITLES.keys()


def test_describe_gives_title_explanation_and_fix() -> None:
    failure = describe(errors.CodeExpiredError("The code expired.", "Get a new one."), language="en")
    assert (failure.title, failure.explanation, failure.fix) == (
        "The authorization code has expired",
        "The code expired.",
        "Get a new one.",
    )


def test_redirect_uri_differences() -> None:
    assert redirect_uri_differences("https://a.ru/cb", "https://a.ru/cb") == []
    assert redirect_uri_differences("https://a.ru/cb/", "https://a.ru/cb") == [
        "One ends with a slash (/) and the other does not."
    ]
    assert redirect_uri_differences("http://a.ru/cb", "https://a.ru/cb") == [
        "One starts with http://, the other with https://."
    ]
    assert "differs" in redirect_uri_differences("https://a.ru/cb?x=1", "https://a.ru/cb")[0]
    assert first_difference("https://a.ru/cb/", "https://a.ru/cb") == 15
    assert first_difference("abc", "abc") == -1
