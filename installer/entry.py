"""The frozen app's entry script: the same ``wizard.cli:main`` that the ``amocrm-wizard`` command runs.

A windowed Windows executable starts without a console, so ``sys.stdout``/``sys.stderr``
(and ``sys.stdin``) are ``None`` unless the caller redirected them (``amocrm-wizard.exe
--version > out.txt``, a pipe, CI). The CLI prints unconditionally, so the missing streams are
pointed at the null device instead of crashing on ``None.write``; redirected streams are
left exactly as they are. Linux and macOS always have the three streams.
"""

from __future__ import annotations

import os
import sys


def _ensure_streams() -> None:
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115 (lives as long as the process)


def run() -> int:
    _ensure_streams()
    from wizard.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
