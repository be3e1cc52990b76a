"""The browser-test infrastructure of ``web`` (live server, Debian's chromium through Playwright,
sign-in through the real pages, console watching, screenshots), re-used."""

from __future__ import annotations

from web.tests.browser.conftest import (  # noqa: F401 -- fixtures re-used
    _triggers_back_after_flush,
    browser,
    console,
    context,
    page,
    person_for,
    shots,
    signed_in,
    transactional_db,
)
