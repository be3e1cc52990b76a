"""The shared template building blocks (web/templatetags/minhu_ui.py, web/partials)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django import forms
from django.template import RequestContext, Template
from django.test import RequestFactory, override_settings
from django.utils.html import escape

from web.tables import Column, Table, resolve
from web.templatetags.minhu_ui import deadline_state

NOW = datetime(2026, 5, 11, 9, 0, tzinfo=UTC)


def render(source: str, **context) -> str:
    request = RequestFactory().get("/queue/", {"state": "open"})
    return Template("{% load minhu_ui %}" + source).render(RequestContext(request, context))


# --- deadline chip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "level", "text"),
    [
        (NOW + timedelta(days=3, hours=4), "ok", "剩 3 天 4 小时"),
        (NOW + timedelta(hours=23, minutes=30), "yellow", "剩 23 小时 30 分"),
        (NOW + timedelta(minutes=20), "yellow", "剩 20 分钟"),
        (NOW + timedelta(seconds=20), "yellow", "剩 1 分钟"),
        (NOW, "red", "已超时 1 分钟"),
        (NOW - timedelta(days=2, hours=1), "red", "已超时 2 天 1 小时"),
    ],
)
def test_deadline_state_counts_the_time_left_and_colours_it(due, level, text):
    assert deadline_state(due, now=NOW) == (level, text)


def test_the_yellow_window_is_a_setting():
    due = NOW + timedelta(hours=30)
    assert deadline_state(due, now=NOW)[0] == "ok"
    with override_settings(WEB_DEADLINE_YELLOW_HOURS=48):
        assert deadline_state(due, now=NOW)[0] == "yellow"


def test_a_given_yellow_moment_and_level_override_the_default_window():
    due = NOW + timedelta(days=5)
    assert deadline_state(due, now=NOW, yellow_at=NOW - timedelta(minutes=1))[0] == "yellow"
    assert deadline_state(NOW + timedelta(hours=2), now=NOW, yellow_at=NOW + timedelta(hours=1))[0] == "ok"
    assert deadline_state(due, now=NOW, level="red")[0] == "red"
    assert deadline_state(due, now=NOW, level="bogus")[0] == "ok"


def test_the_chip_renders_the_class_the_due_time_and_a_text_for_screen_readers():
    html = render("{% deadline_chip due now=now label='答复' %}", due=NOW - timedelta(hours=1), now=NOW)
    assert 'class="chip chip--red"' in html
    assert 'datetime="2026-05-11T16:00:00+08:00"' in html  # shown in Asia/Shanghai
    assert "已超时 1 小时 0 分" in html and "红牌" in html and "答复" in html
    assert "未计时" in render("{% deadline_chip None %}")


def test_the_chip_takes_now_from_the_context():
    html = render("{% deadline_chip due %}", due=NOW + timedelta(hours=2), now=NOW)
    assert "chip--yellow" in html and "剩 2 小时 0 分" in html


# --- status badge and empty state ---------------------------------------------------------------------


def test_status_badge_uses_known_tones_only():
    assert render("{% status_badge '办理中' 'progress' %}").strip() == (
        '<span class="badge badge--progress">办理中</span>'
    )
    assert "badge--neutral" in render("{% status_badge 'x' 'purple' %}")
    assert escape("<b>") in render("{% status_badge label %}", label="<b>")


def test_empty_state_shows_title_hint_and_optional_action():
    html = render("{% empty_state '暂无工单' '新工单会出现在这里。' '/new/' '登记工单' %}")
    assert "暂无工单" in html and "新工单会出现在这里。" in html
    assert 'href="/new/"' in html and "登记工单" in html
    assert "href" not in render("{% empty_state '暂无工单' %}")


# --- form fields: errors beside the field ------------------------------------------------------------


class SampleForm(forms.Form):
    title = forms.CharField(label="诉求标题", max_length=10, help_text="一句话说明问题")
    urgent = forms.BooleanField(label="紧急", required=False)
    channel = forms.ChoiceField(
        label="渠道", choices=[("hotline", "12345 热线"), ("web", "网站")], widget=forms.RadioSelect
    )


def test_a_field_with_an_error_shows_it_beside_the_input_and_links_it():
    form = SampleForm(data={"title": "这是一个超过十个字的很长的标题", "channel": "hotline"})
    assert not form.is_valid()
    html = render("{% form_field form.title %}", form=form)
    assert "field--invalid" in html and "field--required" in html
    assert 'id="id_title_error"' in html and escape(form.errors["title"][0]) in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_title_helptext id_title_error"' in html
    assert 'id="id_title_helptext"' in html and "一句话说明问题" in html
    assert 'value="这是一个超过十个字的很长的标题"' in html  # what was typed stays in the field


def test_checkbox_and_radio_fields_render_their_own_shapes():
    form = SampleForm()
    checkbox = render("{% form_field form.urgent %}", form=form)
    assert "field--checkbox" in checkbox and "field--required" not in checkbox
    assert '<label class="field__check">' in checkbox
    radios = render("{% form_field form.channel %}", form=form)
    assert "<fieldset" in radios and "<legend" in radios and "12345 热线" in radios


def test_stacked_fields_and_non_field_errors():
    form = SampleForm(data={})
    form.is_valid()
    form.add_error(None, "登录名或密码不正确")
    assert "field--stacked" in render("{% form_field form.title stacked=True %}", form=form)
    errors = render("{% form_errors form %}", form=form)
    assert 'class="form-errors" role="alert"' in errors and "登录名或密码不正确" in errors
    assert render("{% form_errors form %}", form=SampleForm()).strip() == ""


# --- data table -------------------------------------------------------------------------------------


class Row:
    def __init__(self, number, title, count, url):
        self.number, self.title, self.count, self.url = number, title, count, url

    def get_title_display(self):
        return f"《{self.title}》"


def test_the_data_table_renders_columns_numbers_links_and_cell_templates(tmp_path, settings):
    cell_dir = tmp_path / "templates"
    (cell_dir / "cells").mkdir(parents=True)
    (cell_dir / "cells" / "count.html").write_text(
        "{% load minhu_ui %}{% status_badge value 'info' %}", encoding="utf-8"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [cell_dir]}]
    table = Table(
        columns=[
            Column("number", "工单号", link="url"),
            Column("get_title_display", "诉求"),
            Column("count", "件数", numeric=True, template="cells/count.html"),
            Column("missing", "备注", secondary=True),
        ],
        rows=[Row("2605110001", "路灯不亮", 3, "/orders/1/"), Row("2605110002", "<井盖>", 12, "")],
        caption="待签收",
    )
    html = render('{% include "web/partials/data_table.html" with table=table %}', table=table)
    assert "<caption>待签收</caption>" in html
    assert '<a href="/orders/1/">2605110001</a>' in html
    assert "2605110002</td>" in html  # no URL, no link
    assert "《路灯不亮》" in html and "《&lt;井盖&gt;》" in html  # escaped
    assert html.count('class="num ') == 3  # header and two cells
    assert '<span class="badge badge--info">12</span>' in html
    assert 'data-label="件数"' in html and "secondary" in html
    assert "—" in html  # the missing value


def test_an_empty_table_shows_the_empty_state():
    table = Table(columns=[Column("number", "工单号")], rows=[], empty_title="暂无待签收工单")
    html = render('{% include "web/partials/data_table.html" with table=table %}', table=table)
    assert "<table" not in html and "暂无待签收工单" in html


def test_pagination_keeps_the_filters_and_targets_the_table():
    from django.core.paginator import Paginator

    page = Paginator(list(range(45)), 20).page(2)
    table = Table(columns=[Column("real", "数")], rows=list(page.object_list), page=page, dom_id="queue")
    html = render('{% include "web/partials/data_table.html" with table=table %}', table=table)
    assert "第 2 / 3 页，共 45 条" in html
    assert 'href="?state=open&amp;page=1"' in html and 'href="?state=open&amp;page=3"' in html
    assert 'hx-target="#queue"' in html


def test_resolve_follows_dotted_paths_dicts_and_callables():
    row = {"order": Row("1", "t", 1, "/u/")}
    assert resolve(row, "order.number") == "1"
    assert resolve(row, "order.get_title_display") == "《t》"
    assert resolve(row, "order.nothing.deeper") is None
