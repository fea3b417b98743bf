"""The catalogue of failures in both languages, triggered for real against the sandbox.

Every failure is set off twice through the public CLI (``AMOCRM_WIZARD_LANG=en`` and ``=ru``,
the two runs side by side) and once in-process through the core, which gives the very error
object the CLI reported. Its message and fix, rendered in each language, must be what each
run printed; the Russian words must come from the .po (not be the English ones), the error
code's title must be translated, and no secret may be shown. TLS failures cannot reach the
CLI (https is refused for loopback addresses), so that one is rendered from the core alone.
"""

from __future__ import annotations

import re
import shutil
import string
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.helpers import allow, connect_sandbox, integration_flags
from wizard.core import consent, oauth
from wizard.core.account import parse_account
from wizard.core.catalogue import TITLES, describe
from wizard.core.connection import OWNED_KEYS
from wizard.core.errors import WizardError
from wizard.core.http import new_session, send
from wizard.core.i18n import DOMAIN, LOCALE_DIR, Text, _, render
from wizard.runtime.client import AmoCRMClient
from wizard.runtime.source import TokenSource
from wizard.sandbox import Sandbox
from wizard.targets.envfile import EnvFileTarget
from wizard.targets.sql import SqlTarget

LANGUAGES = ("en", "ru")
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
DB_PASSWORD = "db-pass-Xq7-never-shown"


@cache
def russian() -> dict[str, str]:
    with open(LOCALE_DIR / "ru" / "LC_MESSAGES" / f"{DOMAIN}.po", "rb") as handle:
        return {str(m.id): str(m.string) for m in read_po(handle) if m.id}


def literal_parts(template: str) -> list[str]:
    """The fixed words of a template, between its placeholders (for matching printed text)."""
    parts = [literal for literal, *_rest in string.Formatter().parse(template)]
    return [part.strip() for part in parts if len(part.strip()) >= 3]


def caught(action: Callable[[], object]) -> WizardError:
    try:
        action()
    except WizardError as error:
        return error
    raise AssertionError("the failure did not happen")


# --- the failures -----------------------------------------------------------------------


@dataclass
class World:
    sb: Sandbox
    tmp: Path
    env: dict[str, str]

    @property
    def secret(self) -> str:
        return self.sb.integration.client_secret

    def connect_args(self, env_path: Path | None = None, **override: str) -> list[str]:
        target = ["--env", str(env_path or self.tmp / "new.env")]
        return ["connect", *target, *integration_flags(self.sb, **override)]

    def exchange(self, code: str, **override: str) -> object:
        it = self.sb.integration
        return oauth.exchange_code(
            parse_account(override.get("account", self.sb.base_url)),
            override.get("client_id", it.client_id),
            override.get("secret", self.secret),
            override.get("redirect_uri", it.redirect_uri),
            code,
        )

    def connected_env(self, name: str) -> Path:
        path = self.tmp / name / ".env"
        path.parent.mkdir()
        EnvFileTarget(path).save(connect_sandbox(self.sb))
        return path

    def copies(self, path: Path) -> dict[str, Path]:
        """One copy of a connected .env per language, so the two runs share nothing."""
        found = {}
        for lang in LANGUAGES:
            (self.tmp / lang).mkdir(exist_ok=True)
            found[lang] = Path(shutil.copy(path, self.tmp / lang / ".env"))
        return found


@dataclass
class Case:
    error: WizardError  # the same failure, triggered in-process: what the CLI must have said
    code: str
    exit_code: int
    argv: dict[str, list[str]] | None = None  # per language; None: not reachable through the CLI
    stdin: str = ""
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    untouched: tuple[Path, ...] = ()  # files (or missing files) the failure must leave as they were
    prompts: tuple[Text, ...] = ()  # what the run prints on stdout before failing
    #: amoCRM rejected the stored refresh token: its verdict is the one line a run may add.
    adds_verdict: bool = False


def per_language(make: Callable[[str], list[str]]) -> dict[str, list[str]]:
    return {lang: make(lang) for lang in LANGUAGES}


def code_expired(w: World) -> Case:
    codes = {name: w.sb.issue_code() for name in (*LANGUAGES, "core")}
    w.sb.advance(21 * 60)
    return Case(
        caught(lambda: w.exchange(codes["core"])),
        "code_expired",
        3,
        per_language(lambda lang: [*w.connect_args(), "--code", codes[lang]]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret, *codes.values()),
        untouched=(w.tmp / "new.env",),
    )


def code_used(w: World) -> Case:
    code = w.sb.issue_code()
    w.exchange(code)
    return Case(
        caught(lambda: w.exchange(code)),
        "code_used",
        3,
        per_language(lambda lang: [*w.connect_args(), "--code", code]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret, code),
        untouched=(w.tmp / "new.env",),
    )


def code_invalid(w: World) -> Case:
    return Case(
        caught(lambda: w.exchange("garbage-code")),
        "code_invalid",
        3,
        per_language(lambda lang: [*w.connect_args(), "--code", "garbage-code"]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret,),
        untouched=(w.tmp / "new.env",),
    )


def redirect_uri_mismatch(w: World) -> Case:
    slashed = w.sb.integration.redirect_uri + "/"
    codes = {name: w.sb.issue_code() for name in (*LANGUAGES, "core")}
    return Case(
        caught(lambda: w.exchange(codes["core"], redirect_uri=slashed)),
        "redirect_uri_mismatch",
        3,
        per_language(lambda lang: [*w.connect_args(redirect_uri=slashed), "--code", codes[lang]]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret, *codes.values()),
        untouched=(w.tmp / "new.env",),
    )


def wrong_secret(w: World) -> Case:
    wrong = "wrong-secret-" + uuid.uuid4().hex
    codes = {name: w.sb.issue_code() for name in (*LANGUAGES, "core")}
    return Case(
        caught(lambda: w.exchange(codes["core"], secret=wrong)),
        "client_secret_rejected",
        3,
        per_language(lambda lang: [*w.connect_args(), "--code", codes[lang]]),
        env={"AMOCRM_CLIENT_SECRET": wrong},
        secrets=(w.secret, wrong, *codes.values()),
        untouched=(w.tmp / "new.env",),
    )


def unknown_client_id(w: World) -> Case:
    stranger = str(uuid.uuid4())
    codes = {name: w.sb.issue_code() for name in (*LANGUAGES, "core")}
    return Case(
        caught(lambda: w.exchange(codes["core"], client_id=stranger)),
        "client_id_rejected",
        3,
        per_language(lambda lang: [*w.connect_args(client_id=stranger), "--code", codes[lang]]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret, *codes.values()),
        untouched=(w.tmp / "new.env",),
    )


def _refresh_case(w: World, code: str, break_it: Callable[[], None]) -> Case:
    connected = w.connected_env("connected")
    envs = w.copies(connected)
    break_it()
    values = EnvFileTarget(connected).read_values()
    return Case(
        caught(lambda: TokenSource(EnvFileTarget(connected)).refresh()),
        code,
        3,
        per_language(lambda lang: ["refresh", "--env", str(envs[lang])]),
        secrets=(w.secret, values["AMOCRM_ACCESS_TOKEN"], values["AMOCRM_REFRESH_TOKEN"]),
        untouched=tuple(envs.values()),
        adds_verdict=True,
    )


def integration_disabled(w: World) -> Case:
    return _refresh_case(w, "reauthorize", w.sb.disable_integration)


def refresh_token_dead(w: World) -> Case:
    return _refresh_case(w, "reauthorize", w.sb.revoke_refresh_tokens)


def account_blocked(w: World) -> Case:
    connected = w.connected_env("connected")
    envs = w.copies(connected)
    w.sb.block_account(True)
    values = EnvFileTarget(connected).read_values()
    return Case(
        caught(lambda: AmoCRMClient(EnvFileTarget(connected)).account()),
        "account_blocked",
        4,
        per_language(lambda lang: ["test", "--env", str(envs[lang])]),
        secrets=(w.secret, values["AMOCRM_ACCESS_TOKEN"], values["AMOCRM_REFRESH_TOKEN"]),
        untouched=tuple(envs.values()),
    )


def rate_limited(w: World) -> Case:
    """A tiny limit: the core's one request spends the only token of the bucket, so every
    request of both CLI runs (the client retries 429 for the command's 30 s) is refused."""
    connected = w.connected_env("connected")
    envs = w.copies(connected)
    values = EnvFileTarget(connected).read_values()
    account, token = parse_account(w.sb.base_url), values["AMOCRM_ACCESS_TOKEN"]
    w.sb.set_rate_limit(0.001)
    no_retries = new_session(retry_budget=0)
    oauth.fetch_account(account, token, session=no_retries)
    return Case(
        caught(lambda: oauth.fetch_account(account, token, session=no_retries)),
        "rate_limited",
        4,
        per_language(lambda lang: ["test", "--env", str(envs[lang])]),
        secrets=(w.secret, token, values["AMOCRM_REFRESH_TOKEN"]),
        untouched=tuple(envs.values()),
    )


def no_network(w: World) -> Case:
    nowhere = "http://127.0.0.1:1"
    return Case(
        caught(lambda: w.exchange("some-code", account=nowhere)),
        "network",
        4,
        per_language(lambda lang: [*w.connect_args(account=nowhere), "--code", "some-code"]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret,),
        untouched=(w.tmp / "new.env",),
    )


def tls_error(w: World) -> Case:
    """https to the sandbox's plain-HTTP port: the handshake fails the way a proxy's would."""
    url = f"https://127.0.0.1:{w.sb.port}/api/v4/account"

    def handshake() -> None:
        with new_session() as session:
            send(session, "GET", url, timeout=5)

    return Case(caught(handshake), "tls", 4)


def target_not_writable(w: World) -> Case:
    path = w.tmp / "missing-folder" / ".env"
    codes = {lang: w.sb.issue_code() for lang in LANGUAGES}
    return Case(
        caught(lambda: EnvFileTarget(path).check_writable()),
        "target",
        5,
        per_language(lambda lang: [*w.connect_args(path), "--code", codes[lang]]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret, *codes.values()),
        untouched=(path,),
    )


def database_refused(w: World) -> Case:
    url = f"mysql://nobody:{DB_PASSWORD}@127.0.0.1:1/x"
    it = w.sb.integration

    def argv(lang: str) -> list[str]:
        return ["connect", "--db", url, "--account", w.sb.base_url, "--client-id", it.client_id]

    return Case(
        caught(lambda: SqlTarget(url).check_writable()),
        "database_refused",
        5,
        per_language(lambda lang: [*argv(lang), "--redirect-uri", it.redirect_uri, "--code", "c"]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret, DB_PASSWORD),
    )


def malformed_account(w: World) -> Case:
    typed = "mycompany.example.com"
    return Case(
        caught(lambda: parse_account(typed)),
        "bad_account",
        2,
        per_language(lambda lang: [*w.connect_args(account=typed), "--code", "some-code"]),
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret,),
        untouched=(w.tmp / "new.env",),
    )


def forged_state(w: World) -> Case:
    """Interactive connect: the pasted redirect carries a state the wizard never issued."""
    forged = allow(w.sb, "attacker-state")
    return Case(
        caught(lambda: consent.parse_callback(forged, parse_account(w.sb.base_url), expected_state="ours")),
        "state_mismatch",
        3,
        per_language(lambda lang: w.connect_args()),
        stdin=forged + "\n",
        env={"AMOCRM_CLIENT_SECRET": w.secret},
        secrets=(w.secret,),
        untouched=(w.tmp / "new.env",),
        prompts=(
            _(
                "Open this address in a browser and press “Allow”. Then paste here the whole address\n"
                "the browser went to (it contains “code=”):"
            ),
            _("Address: "),
        ),
    )


FAILURES = [
    code_expired,
    code_used,
    code_invalid,
    redirect_uri_mismatch,
    wrong_secret,
    unknown_client_id,
    integration_disabled,
    refresh_token_dead,
    account_blocked,
    rate_limited,
    no_network,
    tls_error,
    target_not_writable,
    database_refused,
    malformed_account,
    forged_state,
]


# --- running and checking ---------------------------------------------------------------


def run_both(
    argv: dict[str, list[str]], env: dict[str, str], stdin: str
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Both languages at once (each run is mostly waiting on the sandbox or a retry)."""
    started = {
        lang: subprocess.Popen(
            [sys.executable, "-m", "wizard", *argv[lang]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**env, "AMOCRM_WIZARD_LANG": lang},
        )
        for lang in LANGUAGES
    }
    done = {}
    for lang, proc in started.items():
        out, err = proc.communicate(stdin, timeout=60)
        done[lang] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


def printed(error: WizardError, language: str) -> list[str]:
    """The lines the CLI prints for ``error`` in ``language``: the catalogue's title, the
    message, the fix and amoCRM's words."""
    lines = [_("Error: {title}.", title=TITLES[error.code]).render(language), render(error.message, language)]
    if error.hint:
        lines.append(_("What to do: {hint}", hint=error.hint).render(language))
    if error.detail and error.exit_code == 3:
        lines.append(_("(amoCRM said: {detail})", detail=error.detail).render(language))
    return lines


def check_translated(error: WizardError, code: str) -> None:
    """The error is the expected kind, and every part of it is translated from the .po."""
    assert error.code == code, (error.code, str(error))
    assert isinstance(error.message, Text) and isinstance(error.hint, Text)
    ru, en = describe(error, "ru"), describe(error, "en")
    assert en.title == str(TITLES[code]) and ru.title == russian()[TITLES[code].template] != en.title
    for part, text in (("explanation", error.message), ("fix", error.hint)):
        assert isinstance(text, Text)
        english, translated = getattr(en, part), getattr(ru, part)
        assert english == str(text) and translated != english and CYRILLIC.search(translated)
        for words in literal_parts(russian()[text.template]):
            assert words in translated, (part, words)


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path, cli_env: dict[str, str]) -> World:
    return World(sandbox, tmp_path, cli_env)


@pytest.mark.parametrize("failure", FAILURES, ids=lambda f: f.__name__)
def test_failure_in_both_languages(world: World, failure: Callable[[World], Case]) -> None:
    case = failure(world)
    check_translated(case.error, case.code)
    assert case.error.exit_code == case.exit_code
    if case.argv is None:
        return
    before = {path: path.read_bytes() if path.exists() else None for path in case.untouched}
    runs = run_both(case.argv, {**world.env, **case.env}, case.stdin)
    for lang, result in runs.items():
        assert result.returncode == case.exit_code, (lang, result.stdout + result.stderr)
        for line in printed(case.error, lang):
            assert line in result.stderr, (lang, line, result.stderr)
        for prompt in case.prompts:
            assert prompt.render(lang) in result.stdout, (lang, prompt, result.stdout)
        for secret in case.secrets:
            assert secret not in result.stdout + result.stderr, lang
    # The Russian run says none of the English sentences, and the English run none of the Russian.
    english, russian_text = str(case.error.message), case.error.message.render("ru")
    assert english not in runs["ru"].stderr and russian_text not in runs["en"].stderr
    assert str(case.error.hint) not in runs["ru"].stderr
    assert not CYRILLIC.search(runs["en"].stderr.replace(case.error.detail, ""))
    after = {path: path.read_bytes() if path.exists() else None for path in case.untouched}
    if case.adds_verdict:
        verdict_line = re.compile(rb"AMOCRM_REFRESH_REJECTED='\S+Z [0-9a-f]{12}'\n\Z")
        for path, text in after.items():
            assert text is not None and verdict_line.search(text), path
            after[path] = verdict_line.sub(b"", text)
    assert after == before


@pytest.mark.parametrize(
    ("variables", "language"),
    [
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LC_MESSAGES": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}, "ru"),
        ({"LC_ALL": "C.UTF-8", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"AMOCRM_WIZARD_LANG": "en", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"AMOCRM_WIZARD_LANG": "ru", "LC_ALL": "C"}, "ru"),
    ],
)
def test_the_language_follows_the_environment(
    tmp_path: Path, cli_env: dict[str, str], variables: dict[str, str], language: str
) -> None:
    env = {k: v for k, v in cli_env.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    env.pop("AMOCRM_WIZARD_LANG", None)
    env.update(variables)
    result = subprocess.run(
        [sys.executable, "-m", "wizard", "check", "--env", str(tmp_path / "none.env")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    total = len(OWNED_KEYS)
    summary = _(
        "{missing} of {total} keys are missing. Run amocrm-wizard to connect.", missing=total, total=total
    )
    other = "en" if language == "ru" else "ru"
    assert summary.render(language) in result.stdout, result.stdout
    assert summary.render(other) not in result.stdout
