"""The sandbox in a process of its own, so it does not share the benchmark's GIL.

A remote amoCRM does not compete with the client for the interpreter; an in-process
sandbox would, and would make every multi-threaded number look worse than it is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_SERVER = r"""
import json, sys
from wizard.sandbox import Sandbox
sb = Sandbox().start()
it = sb.integration
print(json.dumps({"base_url": sb.base_url, "client_id": it.client_id, "client_secret": it.client_secret,
                  "redirect_uri": it.redirect_uri}), flush=True)
for line in sys.stdin:
    command = line.split()
    if not command or command[0] == "quit":
        break
    if command[0] == "code":
        answer = sb.issue_code()
    elif command[0] == "stats":
        answer = sb.stats.as_dict()
    elif command[0] == "expire":
        sb.expire_access_tokens(); answer = "ok"
    elif command[0] == "reset":
        sb.reset_stats(); answer = "ok"
    print(json.dumps(answer), flush=True)
sb.stop()
"""


class RemoteSandbox:
    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        info = json.loads(self._readline())
        self.base_url: str = info["base_url"]
        self.client_id: str = info["client_id"]
        self.client_secret: str = info["client_secret"]
        self.redirect_uri: str = info["redirect_uri"]

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        return self._proc.stdout.readline()

    def _ask(self, command: str) -> Any:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return json.loads(self._readline())

    def issue_code(self) -> str:
        return str(self._ask("code"))

    def stats(self) -> dict[str, int]:
        return dict(self._ask("stats"))

    def expire_access_tokens(self) -> None:
        self._ask("expire")

    def reset_stats(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write("quit\n")
        self._proc.stdin.close()
        self._proc.wait(10)
