"""The sign-in pages in a real browser (AUTH-1..AUTH-6 as a person meets them)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.sessions.models import Session

from core.models import AuditEvent
from web.tests.browser.conftest import sign_in, totp_code

pytestmark = [pytest.mark.once]


def test_password_then_totp_leads_to_the_home_page(
    live_server, page, console, shots, street_handler, person_for
):
    person = person_for(street_handler)
    page.goto(live_server.url + "/")
    assert page.url == live_server.url + "/login/?next=/"
    assert page.get_by_role("heading", name="登录").is_visible()
    shots.take(page, "login")

    page.get_by_label("登录名", exact=True).fill("street_handler")
    page.get_by_label("密码", exact=True).fill(person.password)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url(live_server.url + "/login/mfa/")
    assert page.get_by_role("heading", name="双因素认证").is_visible()
    shots.take(page, "mfa-verify")

    page.get_by_label("动态验证码", exact=True).fill(
        "000000" if totp_code(person.device) != "000000" else "111111"
    )
    page.get_by_role("button", name="验证", exact=True).click()
    assert page.locator(".field__error").inner_text().strip() == "验证码不正确或已使用。"
    shots.take(page, "mfa-verify-error")

    page.wait_for_timeout(1200)  # django-otp throttles a retry for 1 s after one wrong code
    page.get_by_label("动态验证码", exact=True).fill(totp_code(person.device))
    page.get_by_role("button", name="验证", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    assert page.get_by_role("heading", name="工作台").is_visible()
    assert "街道承办人" in page.locator(".topbar").inner_text()
    assert "东华街道 · 承办人" in page.locator(".usermenu__unit").inner_text()
    assert page.locator(".unit-list__item").all_inner_texts() == ["东华街道\n承办人"]
    # A handler is no administrator: no admin link on the page or in the nav.
    assert page.get_by_role("link", name="管理后台").count() == 0
    shots.take(page, "home")

    page.locator(".usermenu__summary").click()
    assert page.get_by_role("link", name="修改密码").first.is_visible()
    shots.take(page, "home-user-menu")
    assert console.csp_violations() == []
    assert console.page_errors == []
    # PI-6: no page content lands in browser storage: htmx's history cache is off; htmx keeps
    # only the current path (URLs carry no personal data).
    storage = page.evaluate("({local: Object.keys(localStorage), session: Object.keys(sessionStorage)})")
    assert storage["local"] == []
    assert set(storage["session"]) <= {"htmx-current-path-for-history"}


def test_first_totp_enrolment_shows_the_qr_code(live_server, page, console, shots, make_person):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    person = make_person("carol", admin_role="audit", is_staff=True)
    person.device.delete()  # an administrator without a device must enrol first
    sign_in(page, live_server.url, username="carol", password=person.password, device=None)
    page.wait_for_url(live_server.url + "/login/mfa/enroll/")
    assert page.locator(".qr svg").is_visible()
    shots.take(page, "mfa-enroll")
    device = TOTPDevice.objects.get(user=person.user)
    page.get_by_label("动态验证码", exact=True).fill(totp_code(device))
    page.get_by_role("button", name="确认启用", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    assert "双因素认证已启用。" in page.locator(".messages").inner_text()
    # An administrator's home links to the admin site and shows the role instead of a unit.
    assert page.get_by_role("link", name="管理后台").count() == 2  # nav and tile
    assert "审计管理员" in page.locator(".unit-list").inner_text()
    shots.take(page, "home-admin")
    assert console.csp_violations() == []


def test_a_wrong_password_shows_the_error_in_chinese(live_server, page, console, shots, make_person):
    make_person("alice")
    page.goto(live_server.url + "/login/")
    page.get_by_role("button", name="登录", exact=True).click()  # empty form: errors beside fields
    errors = page.locator(".field__error").all_inner_texts()
    assert errors == ["这个字段是必填项。", "这个字段是必填项。"]
    assert page.locator("#id_username").get_attribute("aria-invalid") == "true"
    assert "id_username_error" in (page.locator("#id_username").get_attribute("aria-describedby") or "")
    shots.take(page, "login-required")

    page.get_by_label("登录名", exact=True).fill("alice")
    page.get_by_label("密码", exact=True).fill("Wrong-password-1")
    page.get_by_role("button", name="登录", exact=True).click()
    assert page.locator(".form-errors").inner_text().strip() == "登录名或密码不正确，或账号已停用。"
    assert page.get_by_label("登录名", exact=True).input_value() == "alice"  # what was typed stays
    assert page.get_by_label("密码", exact=True).input_value() == ""  # the password does not
    shots.take(page, "login-error")
    assert console.csp_violations() == []


def test_five_failures_show_the_lockout_page(live_server, page, console, shots, make_person):
    person = make_person("alice")
    page.goto(live_server.url + "/login/")
    for attempt in range(1, 6):
        page.get_by_label("登录名", exact=True).fill("alice")
        page.get_by_label("密码", exact=True).fill(f"Wrong-password-{attempt}")
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_load_state()
        if attempt < 5:
            assert "登录名或密码不正确" in page.locator(".form-errors").inner_text()
    assert page.get_by_role("heading", name="账号已被临时锁定").is_visible()
    assert "15 分钟后再试" in page.locator(".notice").inner_text()
    shots.take(page, "locked-out")

    # The right password does not open a locked account either.
    page.get_by_role("link", name="返回登录页").click()
    page.get_by_label("登录名", exact=True).fill("alice")
    page.get_by_label("密码", exact=True).fill(person.password)
    page.get_by_role("button", name="登录", exact=True).click()
    assert page.get_by_role("heading", name="账号已被临时锁定").is_visible()
    assert AuditEvent.objects.filter(event_type="auth.login_failed").count() >= 5
    assert console.csp_violations() == []


def test_a_forced_password_change_comes_before_any_page(live_server, page, console, shots, make_person):
    person = make_person("alice", must_change_password=True)
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    page.wait_for_url(live_server.url + "/password/change/")
    assert "请先修改密码" in page.locator(".notice").inner_text()
    shots.take(page, "password-change-forced")

    page.goto(live_server.url + "/")  # no way around it
    assert page.url == live_server.url + "/password/change/"

    page.get_by_label("当前密码", exact=True).fill(person.password)
    page.get_by_label("新密码", exact=True).fill("Bright-Harbor-2031!")
    page.get_by_label("确认新密码", exact=True).fill("Bright-Harbor-2032!")
    page.get_by_role("button", name="修改密码", exact=True).click()
    error = page.locator("#id_new_password2_error")
    assert error.inner_text().strip() == "两次输入的新密码不一致。"
    shots.take(page, "password-change-error")

    page.get_by_label("当前密码", exact=True).fill(person.password)
    page.get_by_label("新密码", exact=True).fill("Bright-Harbor-2031!")
    page.get_by_label("确认新密码", exact=True).fill("Bright-Harbor-2031!")
    page.get_by_role("button", name="修改密码", exact=True).click()
    page.wait_for_url(live_server.url + "/")
    assert "密码已修改。" in page.locator(".messages").inner_text()
    person.user.refresh_from_db()
    assert not person.user.must_change_password
    assert console.csp_violations() == []


def test_logout_kills_the_session_on_the_server(live_server, browser, page, console, make_person):
    person = make_person("alice")
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    page.wait_for_url(live_server.url + "/")
    cookies = page.context.cookies()
    session_key = next(c["value"] for c in cookies if c["name"] == "sessionid")
    assert Session.objects.filter(session_key=session_key).exists()

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r".*/login/$"))
    assert not Session.objects.filter(session_key=session_key).exists()

    # The old cookie, replayed from another browser, opens nothing.
    thief = browser.new_context()
    try:
        thief.add_cookies(cookies)
        other = thief.new_page()
        other.goto(live_server.url + "/")
        assert other.url.startswith(live_server.url + "/login/")
    finally:
        thief.close()
    assert console.csp_violations() == []


def test_background_polling_does_not_keep_an_idle_session_alive(
    live_server, page, console, make_person, settings, monkeypatch
):
    """Foreground requests keep the session alive past the idle window; the background poll of
    the unread count (``X-Minhu-Background: 1``) does not, and once the session has ended the
    poll takes the window to the login page."""
    import core.middleware

    settings.SESSION_IDLE_SECONDS = 5
    settings.WEB_POLL_SECONDS = 1
    monkeypatch.setattr(core.middleware, "SEEN_REFRESH_SECONDS", 0)  # every foreground request counts
    polls = []
    page.on(
        "request",
        lambda req: (
            polls.append(req.headers.get("x-minhu-background"))
            if urlsplit(req.url).path == "/notifications/count/"
            else None
        ),
    )
    person = make_person("alice")
    sign_in(page, live_server.url, username="alice", password=person.password, device=person.device)
    page.wait_for_url(live_server.url + "/")

    # Phase 1: a person at work (a page load every second) for longer than the idle window.
    for _ in range(8):
        page.wait_for_timeout(1000)
        page.reload()
        assert page.url == live_server.url + "/"
    assert len(polls) >= 3, "the unread-count slot did not poll"

    # Phase 2: nobody touches the page; only the poll talks to the server.
    polls.clear()
    page.wait_for_url(re.compile(r".*/login/\?next=(%2F|/)$"), timeout=20_000)
    assert len(polls) >= 4  # the session ended although the poll kept asking
    assert set(polls) == {"1"}  # every poll carried the background marker
    row = AuditEvent.objects.filter(event_type="auth.logout").latest("seq")
    assert row.extra == {"reason": "idle_timeout"}
    assert console.csp_violations() == []
