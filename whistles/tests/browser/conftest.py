"""The browser tests of the whistle pages reuse the web app's browser infrastructure (live server,
Debian chromium through Playwright, sign-in, console watching, screenshots, the flush that passes
the append-only triggers): every fixture of ``web/tests/browser/conftest.py`` is registered here
too, whatever its name."""

from __future__ import annotations

import web.tests.browser.conftest as _web_browser

globals().update({name: value for name, value in vars(_web_browser).items() if not name.startswith("__")})
