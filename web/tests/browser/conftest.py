"""Browser-test infrastructure: a live server, Debian's chromium driven by Playwright, sign-in
through the real pages, console watching for CSP violations, and screenshots.

- Chromium is Debian's ``/usr/bin/chromium`` (installed by ``scripts/setup.sh``; ``playwright
  install`` cannot download browsers here), started with ``--disable-background-networking
  --disable-component-update`` (and ``--no-sandbox`` as root). ``MINHU_CHROMIUM`` overrides the
  path. Without it the tests are skipped with a message, except under ``CI=true`` where a missing
  browser fails the run.
- Playwright's sync API keeps an event loop running in the test thread for as long as it is
  started, so Django's async-safety guard must be relaxed for every ORM call meanwhile:
  ``DJANGO_ALLOW_ASYNC_UNSAFE=true`` is set exactly while Playwright runs. Both live per test
  module (``browser`` is module-scoped), so the tests after the browser modules, and their
  subprocesses, see neither.
- ``shots.take(page, "name")`` writes ``var/screenshots/<name>-desktop.png`` (1280 px wide) and
  ``<name>-mobile.png`` (360 px wide), full page. ``MINHU_SCREENSHOTS`` overrides the folder.
- ``console`` collects console errors and page errors of every page the test opens;
  ``console.csp_violations()`` lists the Content-Security-Policy reports among them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = ["--disable-background-networking", "--disable-component-update"]
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 360, "height": 740}


def chromium_path() -> str | None:
    candidate = os.environ.get("MINHU_CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("chromium")


def screenshot_dir() -> Path:
    from django.conf import settings

    folder = Path(os.environ.get("MINHU_SCREENSHOTS", Path(settings.BASE_DIR) / "var" / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the database between browser tests ------------------------------------------------------------
# The live server needs committed data, so these tests run on ``transactional_db``, which empties
# every table afterwards with ``flush``. The append-only triggers of the audit log and the order
# timeline refuse exactly that (DELETE on SQLite, TRUNCATE on PostgreSQL). Around the flush only,
# every trigger is dropped and then created again from its own stored definition, so the next
# test (of any kind) finds them as the migrations left them.


def _saved_triggers(connection: Any) -> list[tuple[str, str, str]]:
    """``(name, table, create_sql)`` of every user trigger in the test database."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE NOT tgisinternal"
            )
        else:  # pragma: no cover - SQLite and PostgreSQL are the supported databases
            raise RuntimeError(f"unsupported database {connection.vendor}")
        return [(str(name), str(table), str(sql)) for name, table, sql in cursor.fetchall()]


def _drop_triggers(connection: Any, triggers: list[tuple[str, str, str]]) -> None:
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, table, _sql in triggers:
            suffix = f" ON {table}" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {qn(name)}{suffix}")


def _create_triggers(connection: Any, triggers: list[tuple[str, str, str]]) -> None:
    _drop_triggers(connection, triggers)
    with connection.cursor() as cursor:
        for _name, _table, sql in triggers:
            cursor.execute(sql)


@pytest.fixture
def _triggers_back_after_flush(django_db_blocker: Any) -> Iterator[list[tuple[str, str, str]]]:
    dropped: list[tuple[str, str, str]] = []
    yield dropped
    if dropped:
        from django.db import connection

        with django_db_blocker.unblock():
            _create_triggers(connection, dropped)


@pytest.fixture
def transactional_db(
    _triggers_back_after_flush: list[tuple[str, str, str]], transactional_db: None
) -> Iterator[None]:
    """pytest-django's ``transactional_db`` with the triggers lifted for its closing flush."""
    from django.db import connection

    yield
    triggers = _saved_triggers(connection)
    _drop_triggers(connection, triggers)
    _triggers_back_after_flush.extend(triggers)


# --- the browser ---------------------------------------------------------------------------------


def _wait_for_live_server_requests(timeout: float = 5.0) -> None:
    """Let the live server's request threads (one per browser connection) finish and close
    their database connections, so the test database can be dropped at the end of the run."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if "process_request_thread" in thread.name:
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = "Debian's chromium is not installed (bash scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; browser tests cannot be skipped under CI=true", pytrace=False)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extras install it
        if os.environ.get("CI") == "true":
            pytest.fail("the playwright package is missing (pip install -e '.[dev]')", pytrace=False)
        pytest.skip("the playwright package is missing (pip install -e '.[dev]')")
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=path, args=args, headless=True)
            try:
                yield instance
            finally:
                instance.close()
                _wait_for_live_server_requests()
                # While Playwright's loop runs, Django keeps its connections in a separate
                # (async-context) store; close them now, or they outlive the loop unseen and
                # keep the test database from being dropped at the end of the run.
                from django.db import connections

                connections.close_all()
    finally:
        if before is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@dataclass
class Console:
    """Console errors, page errors and failed requests seen by one browser context."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (url, type, text)
    page_errors: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", lambda msg: self.messages.append((page.url, msg.type, msg.text)))
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))

    def csp_violations(self) -> list[tuple[str, str]]:
        return [
            (url, text)
            for url, kind, text in self.messages
            if kind == "error" and "Content Security Policy" in text
        ]

    def errors(self) -> list[tuple[str, str]]:
        return [(url, text) for url, kind, text in self.messages if kind == "error"]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def context(browser: Any, console: Console) -> Iterator[Any]:
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    ctx.set_default_timeout(15_000)
    ctx.on("page", console.attach)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


class Shots:
    """Full-page screenshots at desktop (1280 px) and phone (360 px) width."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def take(self, page: Any, name: str) -> list[Path]:
        original = page.viewport_size or DESKTOP
        paths = []
        for label, size in (("desktop", DESKTOP), ("mobile", MOBILE)):
            page.set_viewport_size(size)
            page.wait_for_timeout(250)  # layout after the resize (the map refits after 100 ms)
            target = self.folder / f"{name}-{label}.png"
            page.screenshot(path=str(target), full_page=True)
            paths.append(target)
        page.set_viewport_size(original)
        self.taken.extend(paths)
        return paths


@pytest.fixture
def shots() -> Shots:
    return Shots(screenshot_dir())


def totp_code(device: Any) -> str:
    """A code the device will accept now: the current step, or the next one when the current
    step was already used (django-otp refuses a step twice; its tolerance admits the next)."""
    from core.tests.identity_helpers import totp_token

    device.refresh_from_db()
    now = time.time()
    current_step = int((now - device.t0) // device.step)
    if device.last_t is not None and device.last_t >= current_step:
        return totp_token(device, at=now + device.step)
    return totp_token(device, at=now)


def sign_in(page: Any, base_url: str, *, username: str, password: str, device: Any | None) -> None:
    """Sign in through the real pages: password, then the TOTP code when asked for one (an
    account without a device lands on the enrolment page, which the caller handles)."""
    page.goto(base_url + "/login/")
    page.get_by_label("登录名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_load_state()
    if page.url.split("?")[0] == base_url + "/login/mfa/":
        assert device is not None, "the account asks for a second factor but no device was given"
        page.get_by_label("动态验证码", exact=True).fill(totp_code(device))
        page.get_by_role("button", name="验证", exact=True).click()
        page.wait_for_load_state()


@dataclass
class Person:
    user: Any
    password: str
    device: Any


@pytest.fixture
def make_person(transactional_db: Any) -> Any:
    """``make_person("alice", **user_fields)`` → a user with a confirmed TOTP device."""
    from core.tests.identity_helpers import GOOD_PASSWORD, make_user, totp_device

    def make(username: str = "alice", password: str = GOOD_PASSWORD, **fields: Any) -> Person:
        user = make_user(username=username, password=password, **fields)
        return Person(user=user, password=password, device=totp_device(user))

    return make


@pytest.fixture
def person_for(transactional_db: Any) -> Any:
    """``person_for(user)`` → a cast user (``orgs.tests.factories.PASSWORD``) with a TOTP device."""
    from core.tests.identity_helpers import totp_device
    from orgs.tests.factories import PASSWORD

    def make(user: Any) -> Person:
        return Person(user=user, password=PASSWORD, device=totp_device(user))

    return make


@pytest.fixture
def signed_in(live_server: Any, page: Any) -> Any:
    """``signed_in(person)`` signs the person in on ``page`` and returns the page."""

    def go(person: Person) -> Any:
        sign_in(
            page,
            live_server.url,
            username=person.user.get_username(),
            password=person.password,
            device=person.device,
        )
        return page

    return go
