"""Static assets come from our own origin, and no template carries inline code or style."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

TEMPLATE_DIRS = [
    Path(settings.BASE_DIR) / "web" / "templates",
    Path(settings.BASE_DIR) / "core" / "templates",
]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
FORBIDDEN = {
    "inline script": INLINE_SCRIPT,
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style[\s>]", re.I),
    "hx-on (needs eval)": re.compile(r"\bhx-on", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "js: value (needs eval)": re.compile(r"hx-vals\s*=\s*['\"]js:", re.I),
}


def templates() -> list[Path]:
    return sorted(p for d in TEMPLATE_DIRS for p in d.rglob("*.html"))


def test_no_template_carries_inline_code_or_style():
    problems = [
        f"{path.relative_to(settings.BASE_DIR)}: {what}"
        for path in templates()
        for what, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert len(templates()) > 15
    assert problems == []


def test_the_lint_catches_what_it_looks_for():
    samples = {
        "inline script": "<script>alert(1)</script>",
        "style attribute": '<p style="color:red">',
        "style element": "<style>p{}</style>",
        "hx-on (needs eval)": '<button hx-on:click="x()">',
        "javascript: URL": '<a href="javascript:void(0)">',
        "event handler attribute": '<img onerror="x()">',
        "js: value (needs eval)": "<div hx-vals='js:{a: 1}'>",
    }
    for what, sample in samples.items():
        assert FORBIDDEN[what].search(sample), what
    assert not INLINE_SCRIPT.search('<script src="/static/a.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="x">{}</script>')


def test_every_static_file_the_templates_name_exists():
    named = set()
    for path in templates():
        named.update(re.findall(r"{%\s*static\s+'([^']+)'\s*%}", path.read_text(encoding="utf-8")))
    assert {
        "web/minhu.css",
        "web/minhu.js",
        "django_htmx/htmx-2.min.js",
        "vendor/leaflet/leaflet.js",
    } <= named
    assert [name for name in sorted(named) if finders.find(name) is None] == []


def test_htmx_is_the_version_the_pages_are_configured_for():
    found = finders.find("django_htmx/htmx-2.min.js")
    assert isinstance(found, str)
    source = Path(found).read_text(encoding="utf-8")
    version = re.search(r'version:"(\d+)\.(\d+)\.(\d+)"', source)
    assert version is not None and version.group(1) == "2"
    # the options web/base.html sets exist in this htmx
    for option in ("includeIndicatorStyles", "allowEval", "allowScriptTags", "historyCacheSize"):
        assert option in source


def test_leaflet_is_vendored_with_its_licence_and_version():
    folder = Path(settings.BASE_DIR) / "static" / "vendor"
    assert "BSD 2-Clause" in (folder / "leaflet" / "LICENSE").read_text(encoding="utf-8")
    head = (folder / "leaflet" / "leaflet.js").read_text(encoding="utf-8")[:200]
    assert "Leaflet 1.9.4" in head
    assert "| Leaflet | 1.9.4 |" in (folder / "README.md").read_text(encoding="utf-8")
    for image in ("marker-icon.png", "layers.png"):
        assert (folder / "leaflet" / "images" / image).is_file()
