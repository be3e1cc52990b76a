"""The whistle board and the summons inbox in a real browser: the street sees who is late, the
department acknowledges and checks in without a page load (htmx), and the board shows it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from whistles.choices import SummonsStatus, WhistleType
from whistles.tests.factories import SITE, blow, make_cast, summons_of

pytestmark = [pytest.mark.once]


def test_board_and_inbox(
    transactional_db,
    live_server,
    context,
    console,
    shots,
    person_for,
    tree,
    dept_handler,
    street_handler,
    outsider,
):
    from web.tests.browser.conftest import sign_in

    cast = make_cast(tree, dept_handler, street_handler, outsider)
    whistle = blow(cast, timezone.now(), type=WhistleType.URGENT)
    secretary, department = person_for(cast.secretary), person_for(cast.dept_handler)

    # the street's secretary: the board, nobody has reported yet
    street_page = context.new_page()
    sign_in(
        street_page,
        live_server.url,
        username="secretary",
        password=secretary.password,
        device=secretary.device,
    )
    street_page.goto(live_server.url + "/whistles/")
    card = street_page.locator(f'[data-whistle="{whistle.pk}"]')
    assert "东华路燃气管道泄漏" in card.inner_text()
    assert "已报到 0 / 2" in card.inner_text()
    assert street_page.get_by_role("link", name="吹哨", exact=True).is_visible()
    shots.take(street_page, "whistles-board")

    # the department: its inbox holds its own summons only; acknowledge and check in in place
    dept_page = context.browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai").new_page()
    console.attach(dept_page)
    sign_in(
        dept_page,
        live_server.url,
        username="dept_handler",
        password=department.password,
        device=department.device,
    )
    dept_page.goto(live_server.url + "/whistles/inbox/")
    mine = summons_of(whistle, cast.dept)
    theirs = summons_of(whistle, cast.dept2)
    assert dept_page.locator(f"#summons-{theirs.pk}").count() == 0
    card = dept_page.locator(f"#summons-{mine.pk}")
    # Screenshots only after the last swap: Playwright's screenshot leaves style="" on inputs,
    # which htmx's settle would copy back (an inline style the CSP rightly refuses).

    url_before = dept_page.url
    card.get_by_role("button", name="响应", exact=True).click()
    dept_page.locator(f"#summons-{mine.pk}", has_text="已响应").wait_for()
    assert dept_page.url == url_before  # swapped in place, no page load
    card = dept_page.locator(f"#summons-{mine.pk}")
    assert card.get_by_role("button", name="响应", exact=True).count() == 0
    assert "已响应" in card.inner_text()

    card.get_by_role(
        "button", name="报到", exact=True
    ).click()  # nothing typed: the errors show beside the fields
    dept_page.locator(f"#summons-{mine.pk} .field__error").first.wait_for()
    assert "请填写到场人员姓名" in dept_page.locator(f"#summons-{mine.pk}").inner_text()
    card = dept_page.locator(f"#summons-{mine.pk}")
    card.get_by_label("到场人员").fill("王局长、李科长")
    card.get_by_label("经度").fill(str(SITE[0]))
    card.get_by_label("纬度").fill(str(SITE[1]))
    card.get_by_role("button", name="报到", exact=True).click()
    dept_page.locator(f"#summons-{mine.pk} .badge", has_text="已报到").wait_for()
    assert "王局长、李科长" in dept_page.locator(f"#summons-{mine.pk}").inner_text()
    shots.take(dept_page, "whistles-inbox-checked-in")
    mine.refresh_from_db()
    assert mine.status == SummonsStatus.CHECKED_IN
    assert mine.attendees == ["王局长", "李科长"]

    # back on the board: one reported, the detail shows the timeline
    street_page.reload()
    assert "已报到 1 / 2" in street_page.locator(f'[data-whistle="{whistle.pk}"]').inner_text()
    street_page.get_by_role("link", name="东华路燃气管道泄漏").click()
    street_page.wait_for_url(f"{live_server.url}/whistles/{whistle.pk}/")
    timeline = street_page.locator(".wh-timeline").inner_text()
    assert "吹哨" in timeline and "响应" in timeline and "报到" in timeline
    shots.take(street_page, "whistles-detail")

    assert console.csp_violations() == [], console.csp_violations()
    assert console.page_errors == []
