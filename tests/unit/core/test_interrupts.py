"""Ctrl+C is held back while a pair amoCRM issued is being saved, and delivered after."""

from __future__ import annotations

import signal

import pytest

from wizard.core import interrupts


def test_a_sigint_inside_the_block_is_raised_only_after_it() -> None:
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt), interrupts.deferred_interrupt():
        signal.raise_signal(signal.SIGINT)
        done.append("saved")  # still runs: the interrupt waits
    assert done == ["saved"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_error_leaving_the_block_wins_over_the_held_back_sigint() -> None:
    with pytest.raises(ValueError), interrupts.deferred_interrupt():
        signal.raise_signal(signal.SIGINT)
        raise ValueError("the save failed")


def test_without_a_sigint_nothing_happens_and_nesting_is_harmless(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interrupts, "_saved_to", None)
    assert interrupts.saved_to() is None
    with interrupts.deferred_interrupt(), interrupts.deferred_interrupt():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    interrupts.note_saved("/srv/backend/.env")
    assert interrupts.saved_to() == "/srv/backend/.env"
