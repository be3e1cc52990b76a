"""The English UI catalogue: complete, compiled from the committed .po, and served by LocaleMiddleware.

Chinese (zh-hans) is the source language; ``locale/en/LC_MESSAGES/django.po`` holds the English
and ``django.mo`` is committed next to it. polib is not a dependency, so the .po is parsed here by
hand (the format is small: comments, flags, ``msgctxt`` / ``msgid`` / ``msgid_plural`` /
``msgstr`` / ``msgstr[n]`` keywords and continued string lines).
"""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

MESSAGES_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_PATH = MESSAGES_DIR / "django.po"
MO_PATH = MESSAGES_DIR / "django.mo"

# Python %-format (named or positional, with flags/width/precision) and str.format fields.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[^{}]*\}")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"django.po:{self.line} {self.msgid!r}"


def parse_po(text: str) -> list[Entry]:
    """Live entries of a .po file (obsolete ``#~`` entries are ignored, as msgfmt does)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None  # (field, plural index) the next continuation extends

    def start(lineno: int) -> Entry:
        nonlocal current
        if current is None or current.msgid is not None:
            current = Entry(line=lineno)
            entries.append(current)
        return current

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            target = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            start(lineno).flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            continue
        if line.startswith("#"):
            start(lineno)
            continue
        if line.startswith('"'):
            assert current is not None and target is not None, f"django.po:{lineno}: stray string"
            value = ast.literal_eval(line)
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, getattr(current, name) + value)
            continue
        match = KEYWORD.match(line)
        assert match, f"django.po:{lineno}: cannot parse {raw!r}"
        keyword, index_text, literal = match.groups()
        value = ast.literal_eval(literal)
        if keyword in {"msgctxt", "msgid"}:
            entry = start(lineno)
        else:  # msgid_plural and msgstr belong to the entry whose msgid came before
            assert current is not None and current.msgid is not None, f"django.po:{lineno}: no msgid"
            entry = current
        if keyword.startswith("msgstr"):
            index = int(index_text) if index_text is not None else 0
            entry.msgstr[index] = value
            target = ("msgstr", index)
        else:
            setattr(entry, keyword, value)
            target = (keyword, 0)
    return [e for e in entries if e.msgid is not None]


def catalog_from_po(entries: list[Entry]) -> dict[object, str]:
    """What msgfmt puts in the .mo, keyed the way ``GNUTranslations._catalog`` keys it."""
    catalog: dict[object, str] = {}
    for e in entries:
        if "fuzzy" in e.flags and e.msgid:
            continue
        assert e.msgid is not None
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            if e.msgstr.get(0):
                catalog[msgid] = e.msgstr[0]
        elif all(e.msgstr.values()):
            for index, value in e.msgstr.items():
                catalog[(msgid, index)] = value
    return catalog


def comparable(catalog: dict[object, str]) -> dict[object, str]:
    """The catalogue without the header's POT-Creation-Date, which recent msgfmt leaves out."""
    header = "".join(
        line for line in catalog.get("", "").splitlines(keepends=True) if not line.startswith("POT-")
    )
    return {**catalog, "": header}


def mo_catalog(path: Path) -> dict[object, str]:
    with path.open("rb") as fh:
        catalog: dict[object, str] = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    return comparable(dict(catalog))


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    return parse_po(PO_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def _restore_language():
    before = translation.get_language()
    yield
    translation.activate(before)


# --- (a) the .po is complete ---------------------------------------------------------------------


def test_po_header_declares_english(po_entries):
    header = po_entries[0]
    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert "Language: en\n" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]
    assert len(po_entries) > 100  # the parser found the catalogue, not an empty file


def test_every_entry_is_translated_and_not_fuzzy(po_entries):
    problems = []
    for e in po_entries[1:]:
        if "fuzzy" in e.flags:
            problems.append(f"{e.label}: fuzzy")
        expected = 2 if e.msgid_plural is not None else 1
        if sorted(e.msgstr) != list(range(expected)):
            problems.append(f"{e.label}: msgstr forms {sorted(e.msgstr)}")
        if any(not value.strip() for value in e.msgstr.values()):
            problems.append(f"{e.label}: empty msgstr")
    assert problems == []


def test_translations_keep_placeholders_and_are_english(po_entries):
    problems = []
    for e in po_entries[1:]:
        assert e.msgid is not None
        for index, value in e.msgstr.items():
            source = e.msgid_plural if index and e.msgid_plural is not None else e.msgid
            if sorted(PLACEHOLDER.findall(value)) != sorted(PLACEHOLDER.findall(source)):
                problems.append(f"{e.label}[{index}]: placeholders differ in {value!r}")
            if HAN.search(value):
                problems.append(f"{e.label}[{index}]: Chinese left in {value!r}")
    assert problems == []


def test_parser_reads_multiline_plural_and_context_entries():
    text = (
        'msgid ""\nmsgstr ""\n"Language: en\\n"\n\n'
        '#, fuzzy\nmsgid "旧"\nmsgstr "Old"\n\n'
        'msgctxt "动作"\nmsgid ""\n"登"\n"记"\nmsgstr "Register"\n\n'
        'msgid "%(n)s 个"\nmsgid_plural "%(n)s 个"\nmsgstr[0] "%(n)s item"\nmsgstr[1] "%(n)s items"\n\n'
        '#~ msgid "废弃"\n#~ msgstr "Obsolete"\n'
    )
    entries = parse_po(text)
    assert [e.msgid for e in entries] == ["", "旧", "登记", "%(n)s 个"]
    assert entries[1].flags == {"fuzzy"}
    assert catalog_from_po(entries) == {
        "": "Language: en\n",
        "动作\x04登记": "Register",
        ("%(n)s 个", 0): "%(n)s item",
        ("%(n)s 个", 1): "%(n)s items",
    }


# --- (b) the committed .mo is the compiled .po -----------------------------------------------------


def test_committed_mo_matches_po(po_entries):
    assert mo_catalog(MO_PATH) == comparable(catalog_from_po(po_entries))


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="msgfmt (gettext) is not installed")
def test_committed_mo_matches_msgfmt_output(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(  # noqa: S603 - fixed arguments
        ["msgfmt", "--check-format", "-o", str(compiled), str(PO_PATH)],  # noqa: S607
        check=True,
        capture_output=True,
    )
    assert mo_catalog(MO_PATH) == mo_catalog(compiled)


# --- (c) the login page follows Accept-Language ----------------------------------------------------


@pytest.mark.usefixtures("_restore_language")
def test_login_page_in_english_with_accept_language(client):
    response = client.get(reverse("core:login"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "en"
    html = response.content.decode()
    assert "<title>Log in · Minhu" in html
    assert "Login name" in html
    assert "登录" not in html


@pytest.mark.usefixtures("_restore_language")
def test_login_page_in_chinese_by_default(client):
    response = client.get(reverse("core:login"))
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    html = response.content.decode()
    assert "<title>登录 · 民呼" in html
    assert "登录名" in html
    assert "Log in" not in html
