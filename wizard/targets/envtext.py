""".env text: read the contract's keys, and put new values in while every other byte stays.

python-dotenv parses (its parser keeps each binding's original text, which is what lets
unowned lines survive byte for byte). Only the merge is ours, because no library replaces
keys where they stand while keeping the rest intact. Pure text in, text out: the local .env
target and the one reached over SSH share it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from wizard.core.connection import REFRESH_REJECTED, STORED_KEYS
from wizard.core.errors import ConfigError, VerificationError
from wizard.core.i18n import _

BOM = "\ufeff"
# Both python-dotenv and Node's dotenv read a single-quoted value literally, as long as
# it holds no quote and no backslash (python-dotenv unescapes \\ and \' even there).
_SINGLE_QUOTE_SAFE = re.compile(r"^[^'\\\n\r]*$")
_DOUBLE_QUOTE_SAFE = re.compile(r'^[^"\\$\n\r]*$')
# What follows an owned key's value on its line: kept when the value is replaced. The value
# is matched as python-dotenv reads it (quoted: up to the closing quote, across lines;
# unquoted: up to the first blank before "#"), so that what stays is exactly its comment.
_VALUE_AND_REST = re.compile(
    r"""(?P<value>'(?:\\'|[^'])*'|"(?:\\"|[^"])*"|[^\r\n]*?)"""
    r"""(?P<rest>[^\S\r\n]+\#[^\r\n]*|[^\S\r\n]*)(?P<ending>\r\n|\n|\r|)$""",
    re.DOTALL,
)


def quote(value: str) -> str:
    if _SINGLE_QUOTE_SAFE.match(value):
        return f"'{value}'"
    if _DOUBLE_QUOTE_SAFE.match(value):
        return f'"{value}"'
    raise ConfigError(
        _("A value holds quotes, backslashes or line breaks together, which .env readers disagree on."),
        _("Check that the value was copied correctly."),
    )


def parse_values(text: str) -> dict[str, str]:
    """The contract's keys present in .env ``text`` (missing keys are absent, not empty)."""
    values = dotenv_values(stream=io.StringIO(text.removeprefix(BOM)), interpolate=False)
    return {k: v or "" for k, v in values.items() if k in STORED_KEYS}


def merge(text: str, values: dict[str, str], remove: tuple[str, ...] = ()) -> str:
    """Put ``values`` into .env ``text``: owned keys replaced where they stand, new ones appended;
    the lines of the keys in ``remove`` are dropped.

    Every other byte (a byte-order mark, comments, blank lines, other keys, their order, line
    endings, the comment after a replaced value) is kept.
    """
    # Some python-dotenv versions drop the mark from the first binding's text, some keep it
    # as part of the first key's name: take it off before parsing, put it back after.
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom) :]
    out: list[str] = []
    seen: set[str] = set()
    newline = "\r\n" if "\r\n" in body else "\n"
    for binding in parse_stream(io.StringIO(body)):
        original = binding.original.string
        if binding.key in remove and not binding.error:
            out.append(_drop_binding(original, binding.key))
            continue
        if binding.key in values and not binding.error:
            out.append(_replace_binding(original, binding.key, values[binding.key]))
            seen.add(binding.key)
        else:
            out.append(original)
    merged = "".join(out)
    missing = [k for k in values if k not in seen]
    if missing:
        if merged and not merged.endswith(("\n", "\r")):
            merged += newline
        merged += "".join(f"{k}={quote(values[k])}{newline}" for k in missing)
    return bom + merged


def _assignment(original: str, key: str) -> re.Match[str] | None:
    # The parser hands leading blank lines to the binding that follows them.
    return re.match(rf"(?P<lead>\s*)(?:export\s+)?{re.escape(key)}\s*=[^\S\r\n]*", original)


def _replace_binding(original: str, key: str, value: str) -> str:
    # Keep everything up to "KEY=", the comment after the value and the line ending; swap
    # only the value.
    assignment = _assignment(original, key)
    if assignment is None:
        return f"{key}={quote(value)}\n"
    after = _VALUE_AND_REST.match(original, assignment.end())
    rest, ending = (after["rest"], after["ending"]) if after else ("", "\n")
    return f"{assignment.group(0)}{quote(value)}{rest}{ending}"


def _drop_binding(original: str, key: str) -> str:
    # Keep the blank lines the parser attached in front of the binding; drop the rest.
    assignment = _assignment(original, key)
    return assignment["lead"] if assignment else ""


def save_values(
    old_text: str | None,
    values: dict[str, str],
    *,
    write: Callable[[bytes], None],
    read_back: Callable[[], str | None],
    where: str,
) -> None:
    """One save of a .env, wherever it lives: ``values`` merged into ``old_text`` (None: no file
    yet), the bytes handed to ``write``, then the file read back through ``read_back`` and
    checked (``VerificationError`` when another program changed it meanwhile)."""
    # A save without a verdict clears one the file may still hold (contract: the next
    # successful connect or refresh deletes it).
    remove = () if REFRESH_REJECTED in values else (REFRESH_REJECTED,)
    write(merge(old_text or "", values, remove=remove).encode("utf-8"))
    _check_read_back(read_back, values, STORED_KEYS, where)


def save_verdict(
    old_text: str | None,
    verdict: str,
    *,
    write: Callable[[bytes], None],
    read_back: Callable[[], str | None],
    where: str,
) -> None:
    """Add amoCRM's verdict to what the file holds, and nothing else: a refused refresh may
    leave only that behind (contract, "Exit codes")."""
    values = {REFRESH_REJECTED: verdict}
    write(merge(old_text or "", values).encode("utf-8"))
    _check_read_back(read_back, values, (REFRESH_REJECTED,), where)


def _check_read_back(
    read_back: Callable[[], str | None], values: dict[str, str], checked: tuple[str, ...], where: str
) -> None:
    got = parse_values(read_back() or "")
    wrong = [k for k in checked if got.get(k, "") != values.get(k, "")]
    if wrong:
        raise VerificationError(
            _(
                "After saving, {path} does not read back as written ({join}).",
                path=where,
                join=", ".join(wrong),
            ),
            _("Another program may be changing the file; close it and try again."),
        )
