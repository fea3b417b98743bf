"""SIGKILL a refreshing process at random moments and see what the target is left holding.

A zygote process imports everything once and forks one child per trial, so a trial
costs a fork rather than an interpreter start. Each child refreshes in a loop and logs
three moments to its own file: the refresh request about to leave (``sent``), amoCRM's
answer (``answered``) and the new pair durably saved (``saved``). The parent kills the
child, then checks whether the stored refresh token still works. Only kills after
``sent`` and before ``saved`` may lose the pair: amoCRM spends the old token as it
answers, and the new one exists only in memory until the write is done.

With ``in_place=True`` the .env gets a second hard link first, so that the target rewrites
it in place rather than by rename (as for a Docker bind mount): then a kill can also leave
a torn file, and each trial checks for one.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from wizard.core import oauth
from wizard.core.connection import OWNED_KEYS, REFRESH_REJECTED
from wizard.core.errors import ReauthorizationRequired
from wizard.targets.envfile import EnvFileTarget, merge, parse_values

_ZYGOTE = r"""
import logging, os, signal, sys, time
import filelock, jwt, jwt.algorithms  # imported once here, as a running backend would have them
from wizard.runtime.source import TokenSource
from wizard.targets.envfile import EnvFileTarget
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel

class Events(logging.Handler):
    MARKS = {
        "Renewing tokens": "sent",
        "amoCRM issued a new pair": "answered",
        "Tokens renewed and saved": "saved",
    }
    def __init__(self, fd):
        super().__init__()
        self.fd = fd
    def emit(self, record):
        message = record.getMessage()
        for prefix, mark in self.MARKS.items():
            if message.startswith(prefix):
                os.write(self.fd, f"{time.time():.6f} {mark}\n".encode())

for line in sys.stdin:
    env_path, events_path = line.split()
    pid = os.fork()
    if pid == 0:
        fd = os.open(events_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        logger = logging.getLogger("amocrm_wizard")
        logger.setLevel(logging.INFO)
        logger.addHandler(Events(fd))
        source = TokenSource(EnvFileTarget(env_path))
        os.write(fd, f"{time.time():.6f} ready\n".encode())
        while True:
            source.refresh()
            time.sleep(0.005)  # a backend is idle between refreshes; kills land there too
    print(pid, flush=True)
"""


@dataclass
class CrashReport:
    trials: int = 0
    lost: int = 0  # kills after which the stored refresh token no longer worked
    in_window: int = 0  # kills that landed between "sent" and "saved"
    lost_outside_window: int = 0  # must stay 0
    torn: int = 0  # kills after which the file was neither an old nor a new version
    in_place: bool = False
    refreshes_per_trial: list[int] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)  # sent -> answered
    write_ms: list[float] = field(default_factory=list)  # answered -> saved

    def summary(self) -> str:
        med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
        cycle = med(self.answer_ms) + med(self.write_ms)
        how = "rewritten in place" if self.in_place else "replaced by rename"
        return (
            f"[{how}] {self.trials} kills: pair lost {self.lost} times, all inside the window "
            f"({self.in_window} kills landed inside it, {self.lost_outside_window} losses outside). "
            f"Window per refresh: amoCRM round trip {med(self.answer_ms):.2f} ms + write and fsync "
            f"{med(self.write_ms):.2f} ms = {cycle:.2f} ms (medians); "
            f"{sum(self.refreshes_per_trial)} refreshes were completed across the trials; "
            f"torn files: {self.torn}."
        )


def _events(path: Path) -> list[tuple[float, str]]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        stamp, mark = line.split()
        rows.append((float(stamp), mark))
    return rows


def _durations(events: list[tuple[float, str]], report: CrashReport) -> None:
    sent = answered = None
    for stamp, mark in events:
        if mark == "sent":
            sent, answered = stamp, None
        elif mark == "answered" and sent is not None:
            answered = stamp
            report.answer_ms.append((answered - sent) * 1000)
        elif mark == "saved" and answered is not None:
            report.write_ms.append((stamp - answered) * 1000)
            sent = answered = None


def _torn(env_path: Path, version: str) -> bool:
    """Is the file something no save wrote? Every save puts new values into the same lines,
    so a whole version is ``version`` (any earlier whole one) with the file's own values in it."""
    text = env_path.read_text(encoding="utf-8", errors="replace")
    values = parse_values(text)
    if not set(OWNED_KEYS) <= values.keys():
        return True
    remove = () if REFRESH_REJECTED in values else (REFRESH_REJECTED,)
    return text != merge(version, values, remove=remove)


def _still_works(env_path: Path) -> bool:
    """Spend the stored refresh token once (as the next run would) and store the result."""
    target = EnvFileTarget(env_path)
    stored = target.load()
    assert stored is not None and stored.tokens is not None, "the target lost its pair entirely"
    try:
        pair = oauth.refresh_tokens(
            stored.account,
            stored.client_id,
            stored.client_secret,
            stored.redirect_uri,
            stored.tokens.refresh_token,
        )
    except ReauthorizationRequired:
        return False
    target.save(stored.with_tokens(pair))
    return True


def run_trials(  # type: ignore[no-untyped-def]
    sandbox, env_path: Path, trials: int, seed: int = 1, max_delay: float = 0.03, in_place: bool = False
) -> CrashReport:
    from tests.helpers import connect_sandbox

    rng = random.Random(seed)
    report = CrashReport(in_place=in_place)
    work = Path(tempfile.mkdtemp(prefix="amocrm-crash-"))
    if in_place:
        os.link(env_path, work / "second-name.env")
    version = env_path.read_text(encoding="utf-8")
    zygote = subprocess.Popen(
        [sys.executable, "-c", _ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    try:
        for n in range(trials):
            events_path = work / f"events-{n}.log"
            zygote.stdin.write(f"{env_path} {events_path}\n")
            zygote.stdin.flush()
            pid = int(zygote.stdout.readline())
            deadline = time.monotonic() + 10
            # Kill in the steady state, after the first refresh, so that the moments fall
            # across whole refresh cycles rather than into the child's start-up.
            while not any(mark == "saved" for _, mark in _events(events_path)):
                assert time.monotonic() < deadline, "the child never completed a refresh"
                time.sleep(0.001)
            time.sleep(rng.uniform(0, max_delay))
            killed_at = time.time()
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid)
            events = [e for e in _events(events_path) if e[0] <= killed_at]
            _durations(events, report)
            last = next((mark for _, mark in reversed(events) if mark != "ready"), "saved")
            inside = last in ("sent", "answered")
            torn = _torn(env_path, version)
            works = not torn and _still_works(env_path)
            report.trials += 1
            report.in_window += inside
            report.torn += torn
            report.refreshes_per_trial.append(sum(mark == "saved" for _, mark in events))
            if not works:
                report.lost += 1
                report.lost_outside_window += not inside
                # Put a whole file with a live pair back (a new consent) for the next trial;
                # written over the same inode, so that a second name still sees it.
                env_path.write_text(version, encoding="utf-8")
                EnvFileTarget(env_path).save(connect_sandbox(sandbox))
    finally:
        zygote.stdin.close()
        zygote.wait(10)
    return report


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.0005)
    raise AssertionError(f"process {pid} survived SIGKILL")
