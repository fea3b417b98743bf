"""How long the new pair exists only in memory: SIGKILL a refreshing process at random
moments (tests/crash_harness.py) and print the window and how many kills lost the pair."""

from __future__ import annotations

import argparse

from _common import connected_sandbox

from tests.crash_harness import run_trials


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sandbox, env_path = connected_sandbox()
    print(run_trials(sandbox, env_path, trials=args.trials, seed=args.seed).summary())
    sandbox.stop()


if __name__ == "__main__":
    main()
