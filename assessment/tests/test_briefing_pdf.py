"""The monthly briefing as PDF: the same figures as the workbook, charts drawn as SVG, laid out by
WeasyPrint; read back with pypdfium2 (rasterise the first page, extract its Chinese text); the
dashboard download (scope and permission as for the workbook) and the monthly task's copy.
The tests that lay out a full briefing take seconds each and are marked ``once``."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest
from django.test import Client

from assessment import briefing_pdf as pdf_module
from assessment.briefing import briefing_data, briefing_issue, briefing_issue_all, briefing_sheets
from assessment.briefing_pdf import BAR_COLOUR, briefing_context, briefing_pdf, cjk_font
from assessment.metrics import Period
from assessment.models import Briefing
from assessment.rollups import rollup_catch_up
from assessment.tests.factories import handled_order
from core.models import AuditEvent
from core.tests.identity_helpers import login_verified
from orders.choices import Satisfaction
from orgs.tests.factories import UserFactory

SEPTEMBER = Period.month(2025, 9)


@pytest.fixture
def history(cast, now):
    handled_order(cast, now)
    handled_order(
        cast,
        now,
        grid=cast.tree.other_grid,
        satisfaction=Satisfaction.DISSATISFIED,
        resolved=False,
        close=True,
    )
    rollup_catch_up(now=now)


@pytest.fixture
def login():
    def make(user):
        client = Client()
        login_verified(client, user)
        return client

    return make


def _read(pdf: bytes) -> tuple[str, int, int, int]:
    """(text of every page, page count, non-white pixels and bar-coloured pixels of page one)."""
    assert pdf.startswith(b"%PDF-")
    document = pdfium.PdfDocument(pdf)
    try:
        pages = len(document)
        text = ""
        for index in range(pages):
            page = document[index]
            textpage = page.get_textpage()
            text += textpage.get_text_range()
            textpage.close()
            page.close()
        first = document[0]
        image = first.render(scale=1).to_numpy()[:, :, :3].astype(int)  # BGR(A) bytes
        first.close()
    finally:
        document.close()
    ink = int((image.sum(axis=2) < 600).sum())
    bar = [int(BAR_COLOUR[i : i + 2], 16) for i in (5, 3, 1)]  # as B, G, R
    bars = int((abs(image - bar) <= 8).all(axis=2).sum())
    return text, pages, ink, bars


@pytest.mark.once  # renders PDFs: several seconds each
def test_the_pdf_has_the_workbooks_figures_its_charts_and_chinese_text(cast, now, history):
    data = briefing_data(scope=cast.tree.city, period=SEPTEMBER)
    context = briefing_context(data, now=now)
    # the tables are the workbook's own sheets, from the same read
    sheets = briefing_sheets(scope=cast.tree.city, period=SEPTEMBER, data=data)
    assert [s["title"] for s in context["sections"]] == [s.title for s in sheets[1:6]]
    streets = context["sections"][0]
    assert [row[:2] for row in streets["rows"]] == [[1, "东华街道"], [2, "西长街道"]]
    # charts are SVG, embedded as data: URIs (WeasyPrint fetches nothing else)
    assert context["summary"]["chart"].startswith("data:image/svg+xml;base64,")
    assert streets["chart"].startswith("data:image/svg+xml;base64,")
    assert context["sections"][4]["chart"] is not None  # top problems
    assert context["sections"][2]["chart"] is None  # no overdue chart, a table only

    text, pages, ink, bars = _read(briefing_pdf(scope=cast.tree.city, period=SEPTEMBER, now=now))
    assert pages >= 1
    assert "月度通报" in text
    assert "测试市2025年9月接诉即办考评通报" in text
    assert "东华街道" in text and "西长街道" in text and "市城管局" in text
    assert "街道排名" in text and "高频问题" in text and "计数规则" in text
    assert "55.00" in text  # the city's composite score, as on the workbook's summary sheet
    assert ink > 20_000  # the first page is not blank: title, tables, charts
    assert bars > 500  # the rates chart's bars are drawn on the first page


@pytest.mark.once  # renders PDFs: several seconds each
def test_a_missing_cjk_font_still_gives_a_pdf(cast, now, history, monkeypatch):
    assert cjk_font() == "Noto Sans CJK SC"  # fonts-noto-cjk is installed by scripts/setup.sh
    monkeypatch.setattr(pdf_module, "cjk_font", lambda: None)
    assert pdf_module._font_families() == ["DejaVu Sans"]
    text, _pages, ink, bars = _read(briefing_pdf(scope=cast.tree.city, period=SEPTEMBER, now=now))
    assert "东华街道" in text  # the page text still comes from fontconfig; only chart labels suffer
    assert ink > 20_000 and bars > 500


def test_an_empty_month_renders_without_charts(cast, now):
    context = briefing_context(briefing_data(scope=cast.tree.city, period=SEPTEMBER), now=now)
    assert context["summary"]["chart"] is None
    assert all(section["chart"] is None for section in context["sections"])
    text, _pages, ink, _bars = _read(briefing_pdf(scope=cast.tree.city, period=SEPTEMBER, now=now))
    assert "月度通报" in text and "本月无记录。" in text
    assert ink > 2_000


@pytest.mark.once  # renders PDFs: several seconds each
def test_the_dashboard_offers_and_serves_the_pdf_to_a_leader_only(login, cast, now, history, city_leader):
    client = login(city_leader)
    html = client.get("/assessment/", {"month": "2025-09"}).content.decode()
    assert f'/assessment/briefing/pdf/?scope={cast.tree.city.pk}&amp;month=2025-09"' in html

    response = client.get("/assessment/briefing/pdf/", {"scope": cast.tree.city.pk, "month": "2025-09"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Minhu-Briefing"] == "live"
    assert response["Content-Disposition"].startswith("attachment; filename*=UTF-8''")
    assert response["Content-Disposition"].endswith(".pdf")
    text, _pages, _ink, _bars = _read(response.content)
    assert "东华街道" in text
    event = AuditEvent.objects.get(event_type="assessment.briefing_export", actor=city_leader)
    assert event.extra["format"] == "pdf" and event.extra["issued"] is False

    outsider = login(UserFactory.create(username="loner"))
    refused = outsider.get("/assessment/briefing/pdf/", {"scope": cast.tree.city.pk, "month": "2025-09"})
    assert refused.status_code in (403, 404)
    assert refused["Content-Type"] != "application/pdf"
    assert outsider.get("/assessment/briefing/pdf/").status_code in (403, 404)


def test_a_street_secretary_cannot_take_another_streets_pdf(login, cast, now, history, street_secretary):
    response = login(street_secretary).get(
        "/assessment/briefing/pdf/", {"scope": cast.tree.other_street.pk, "month": "2025-09"}
    )
    assert response.status_code == 403


@pytest.mark.once  # renders PDFs: several seconds each
def test_the_monthly_task_issues_both_and_downloads_serve_the_issued_copies(
    login, cast, now, history, city_leader
):
    october_first = now + dt.timedelta(days=6)  # 2025-10-02 Asia/Shanghai: issues September
    (issued,) = briefing_issue_all(now=october_first, scopes=[cast.tree.city])
    assert issued.period == SEPTEMBER.start
    assert bytes(issued.content).startswith(b"PK") and bytes(issued.pdf).startswith(b"%PDF-")
    assert len(issued.pdf_sha256) == 64

    client = login(city_leader)
    params = {"scope": cast.tree.city.pk, "month": "2025-09"}
    pdf = client.get("/assessment/briefing/pdf/", params)
    assert pdf["X-Minhu-Briefing"] == "issued" and pdf.content == bytes(issued.pdf)
    xlsx = client.get("/assessment/briefing/", params)
    assert xlsx["X-Minhu-Briefing"] == "issued" and xlsx.content == bytes(issued.content)

    # a row issued before the PDF existed gets its PDF on the next run; the workbook stays
    Briefing.objects.filter(pk=issued.pk).update(pdf=b"", pdf_sha256="")
    again = briefing_issue(scope=cast.tree.city, period=SEPTEMBER, now=october_first)
    assert again.pk == issued.pk and bytes(again.pdf).startswith(b"%PDF-")
    assert bytes(again.content) == bytes(issued.content) and Briefing.objects.count() == 1


def test_without_weasyprints_libraries_the_workbook_is_still_issued(cast, now, history, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(pdf_module, "render_briefing_pdf", broken)
    (issued,) = briefing_issue_all(now=now + dt.timedelta(days=6), scopes=[cast.tree.city])
    assert bytes(issued.content).startswith(b"PK")
    assert bytes(issued.pdf) == b"" and issued.pdf_sha256 == ""
    again = briefing_issue(scope=cast.tree.city, period=SEPTEMBER, now=now + dt.timedelta(days=7))
    assert again.pk == issued.pk and bytes(again.pdf) == b""  # still broken: kept, nothing raised
