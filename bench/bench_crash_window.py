"""How long the new pair exists only in memory, and how long a file rewritten in place is torn.

1. SIGKILL a refreshing process at random moments (tests/crash_harness.py), once with the
   .env replaced by rename (the default) and once rewritten in place (the file gets a second
   hard link, which makes the target keep its inode, as for a Docker bind mount): how many
   kills lost the pair, and how many left a torn file.
2. The torn span itself, timed around the in-place write's ``overwrite`` (first byte written
   to truncation: a kill there leaves a torn file) and with its fsync (a power loss before
   the fsync ends may too), next to the whole rename write, whose torn span is zero.
3. A backend that reads the .env without taking the lock, while saves run back to back:
   how many of its reads saw a file that is neither of the two whole texts being written,
   in place and by rename.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import connected_sandbox

from tests.crash_harness import run_trials
from tests.helpers import connect_sandbox
from wizard.core.i18n import _
from wizard.targets import localfile
from wizard.targets.envfile import EnvFileTarget

_READER = r"""
import sys, time
from pathlib import Path
path, seconds = Path(sys.argv[1]), float(sys.argv[2])
whole = {Path(p).read_bytes() for p in sys.argv[3:]}
reads = torn = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    reads += 1
    torn += path.read_bytes() not in whole
print(reads, torn)
"""


def crash_trials(trials: int, seed: int) -> None:
    for in_place in (False, True):
        sandbox, env_path = connected_sandbox()
        print(run_trials(sandbox, env_path, trials=trials, seed=seed, in_place=in_place).summary())
        sandbox.stop()


def _versions(n: int) -> list[bytes]:
    """Whole .env files as consecutive saves write them (lengths differ a little, as real
    tokens do, so that the in-place write also truncates)."""
    sandbox, env_path = connected_sandbox()
    texts = []
    for _n in range(n):
        EnvFileTarget(env_path).save(connect_sandbox(sandbox))
        texts.append(env_path.read_bytes())
    sandbox.stop()
    return texts


def _us(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99)]
    return f"median {statistics.median(ordered) * 1e6:.1f} µs, p99 {p99 * 1e6:.1f} µs"


def torn_span(rounds: int) -> None:
    versions = _versions(8)
    folder = Path(tempfile.mkdtemp(prefix="amocrm-bench-torn-"))
    linked, plain = folder / "linked.env", folder / "plain.env"
    linked.write_bytes(versions[0])
    plain.write_bytes(versions[0])
    os.link(linked, folder / "second-name.env")
    span: list[float] = []
    with_fsync: list[float] = []
    in_place_write: list[float] = []
    rename_write: list[float] = []
    fix = _("(bench)")  # only shown if a write fails
    for n in range(rounds):
        data = versions[n % len(versions)]
        fd = os.open(linked, os.O_WRONLY)
        try:
            start = time.perf_counter()
            localfile.overwrite(fd, data)
            torn_until = time.perf_counter()
            os.fsync(fd)
            synced = time.perf_counter()
        finally:
            os.close(fd)
        span.append(torn_until - start)
        with_fsync.append(synced - start)
        for path, samples in ((linked, in_place_write), (plain, rename_write)):
            file = localfile.locate(path)
            start = time.perf_counter()
            localfile.write(file, data, fix)
            samples.append(time.perf_counter() - start)
    assert os.stat(linked).st_nlink == 2, "the in-place file must keep its second name"
    size = statistics.median(len(v) for v in versions)
    print(
        f"Torn span of an in-place write ({size:.0f}-byte .env, {rounds} writes): "
        f"kill window {_us(span)}; power-loss window (with fsync) {_us(with_fsync)}. "
        f"Rename: torn span 0 (old or new file at every moment)."
    )
    ratio = statistics.median(in_place_write) / statistics.median(rename_write)
    print(
        f"Whole write: in place {_us(in_place_write)}; by rename {_us(rename_write)} "
        f"-> in place / rename = {ratio:.2f}x"
    )


def unlocked_reader(seconds: float) -> None:
    for in_place in (False, True):
        sandbox, env_path = connected_sandbox()
        if in_place:
            os.link(env_path, env_path.with_name("second-name.env"))
        # The writer alternates two pairs, so a whole file is one of exactly two texts.
        target, pairs, wholes = EnvFileTarget(env_path), [connect_sandbox(sandbox) for _n in range(2)], []
        for n, pair in enumerate(pairs):
            target.save(pair)
            wholes.append(env_path.with_name(f"whole-{n}.env"))
            wholes[-1].write_bytes(env_path.read_bytes())
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER, str(env_path), str(seconds), *map(str, wholes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        saves = 0
        while reader.poll() is None:
            target.save(pairs[saves % 2])
            saves += 1
        reads, torn = map(int, reader.communicate()[0].split())
        how = "in place" if in_place else "by rename"
        print(
            f"Unlocked reader, saves {how}: {torn} of {reads} reads saw a torn file "
            f"({torn / max(reads, 1):.3%}) during {saves} saves in {seconds:.0f} s."
        )
        sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2000, help="timed writes for the torn span")
    parser.add_argument("--reader-seconds", type=float, default=5.0)
    args = parser.parse_args()
    crash_trials(args.trials, args.seed)
    torn_span(args.rounds)
    unlocked_reader(args.reader_seconds)


if __name__ == "__main__":
    main()
