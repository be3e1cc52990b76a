"""Masking of personal data for display (SECURITY.md PI-2) and format validators (DI-1).

Every mask function takes any string (``None`` and empty give ``""``) and never raises; what it
cannot recognise it masks more, never less. The rules:

- ``mask_phone``: a mainland mobile keeps the first 3 and last 4 digits (``138****5678``, any
  ``+86``/``0086`` prefix dropped); a landline keeps its area code and the last 4 digits of the
  subscriber number (``010-****5678``; an extension is masked whole); any other number (foreign,
  odd formats) keeps only its last 4 digits (``+********0958``); a number with fewer than 7 digits
  is masked whole, since its last 4 digits would be most of it.
- ``mask_id_number``: a resident ID keeps the first 6 (region) and the last 4 characters:
  ``110101********1234`` (18 characters) and ``110101*****1234`` (the old 15-digit form); any
  other document number keeps its last 4 characters if it has at least 8, else nothing.
- ``mask_name``: a Chinese name keeps its surname (compound surnames such as 欧阳 recognised)
  and masks each given-name character: ``张*``, ``张**``, ``欧阳**``; a single character is
  masked whole; "surname + polite title" (``张先生``, ``李女士``) is already anonymous and kept;
  a name in Latin letters keeps only its first letter (``J*** *****``); separators (space, ·)
  are kept.
- ``mask_address``: keeps the text up to and including the first community-level marker
  (社区, 居委会, 村委会, 小区, 村), then ``***``; with no marker, at most the first 12
  characters and never more than half of the address. The kept part is further cut before the
  address's first number (digits, or Chinese numerals followed by 号/楼/栋/单元/室…), so house,
  building and room numbers never show.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

MASK = "*"

# --- phones ------------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"1[3-9]\d{9}")


def _digits(value: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit() and ch.isascii())


def normalize_phone(value: str | None) -> str:
    """Digits only; a mainland mobile loses its ``+86``/``0086``/``86`` country prefix.

    Used for validation and for the keyed search hash, so "+86 138-0013-8000" and
    "13800138000" find the same person.
    """
    if not value:
        return ""
    text = unicodedata.normalize("NFKC", value).strip()
    digits = _digits(text)
    international = text.startswith("+") or digits.startswith("00")
    if digits.startswith("00"):
        digits = digits[2:]
    if digits.startswith("86") and _MOBILE_RE.fullmatch(digits[2:]):
        return digits[2:]
    if not international:
        return digits
    if digits.startswith("86"):
        return "0" + digits[2:].lstrip("0")  # a mainland landline in its domestic form
    return "+" + digits  # foreign numbers stay distinct from local ones with the same digits


def is_valid_mainland_mobile(value: str | None) -> bool:
    """A mainland China mobile number (11 digits, 1[3-9]…), with or without +86 and separators."""
    normalized = normalize_phone(value)
    return bool(_MOBILE_RE.fullmatch(normalized))


def _area_code_length(digits: str) -> int:
    """Mainland area codes: 010 and 02x have 3 digits, the others 4."""
    return 3 if digits.startswith(("010", "02")) else 4


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    text = unicodedata.normalize("NFKC", value).strip()
    normalized = normalize_phone(text)
    if _MOBILE_RE.fullmatch(normalized):
        return normalized[:3] + MASK * 4 + normalized[-4:]
    # landline: 0 + area code, subscriber number of 7-8 digits, optional extension after a separator
    parts = [p for p in re.split(r"[^0-9]+", text) if p]
    if normalized.startswith("0") and not _digits(text).startswith("0"):
        parts = [normalized]  # "+86 10 …": the domestic form, in one chunk
    if not normalized.startswith("+") and parts and parts[0].startswith("0"):
        if len(parts) >= 2 and 3 <= len(parts[0]) <= 4 and 7 <= len(parts[1]) <= 8:
            area, number, extension = parts[0], parts[1], "".join(parts[2:])
        elif len(parts[0]) in (10, 11, 12):
            n = _area_code_length(parts[0])
            area, number, extension = parts[0][:n], parts[0][n:], "".join(parts[1:])
        else:
            area = number = extension = ""
        if area and 7 <= len(number) <= 8:
            masked = f"{area}-{MASK * (len(number) - 4)}{number[-4:]}"
            return masked + (f"-{MASK * len(extension)}" if extension else "")
    digits = normalized.lstrip("+")
    if len(digits) < 7:
        return MASK * max(len(digits), 4)
    return ("+" if normalized.startswith("+") else "") + MASK * (len(digits) - 4) + digits[-4:]


# --- identity numbers ----------------------------------------------------------------------------

_ID18_RE = re.compile(r"\d{17}[\dX]")
_ID15_RE = re.compile(r"\d{15}")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_id_number(value: str | None) -> str:
    """Upper case without spaces (``x`` → ``X``); used for validation and the search hash."""
    if not value:
        return ""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", value)).upper()


def id_checksum(first17: str) -> str:
    """The GB 11643-1999 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    total = sum(int(ch) * w for ch, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def _valid_birth(text: str) -> bool:
    try:
        born = dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return False
    return born.year >= 1800


def is_valid_id_number(value: str | None) -> bool:
    """A mainland resident ID number (GB 11643): 18 characters with a valid check character and
    birth date, or the old 15-digit form (birth year 19YY, no check character)."""
    number = normalize_id_number(value)
    if _ID18_RE.fullmatch(number):
        return number[0] != "0" and _valid_birth(number[6:14]) and id_checksum(number[:17]) == number[17]
    if _ID15_RE.fullmatch(number):
        return number[0] != "0" and _valid_birth("19" + number[6:12])
    return False


def mask_id_number(value: str | None) -> str:
    if not value:
        return ""
    number = normalize_id_number(value)
    if _ID18_RE.fullmatch(number) or _ID15_RE.fullmatch(number):
        return number[:6] + MASK * (len(number) - 10) + number[-4:]
    if len(number) >= 8:
        return MASK * (len(number) - 4) + number[-4:]
    return MASK * max(len(number), 4)


# --- names ------------------------------------------------------------------------------------------

_COMPOUND_SURNAMES_TEXT = (
    "欧阳 太史 端木 上官 司马 东方 独孤 南宫 万俟 闻人 夏侯 诸葛 尉迟 公羊 赫连 澹台 皇甫 宗政 濮阳 "
    "公冶 太叔 申屠 公孙 慕容 仲孙 钟离 长孙 宇文 司徒 鲜于 司空 闾丘 子车 亓官 司寇 巫马 公西 "
    "颛孙 壤驷 公良 漆雕 乐正 宰父 谷梁 拓跋 夹谷 轩辕 令狐 段干 百里 呼延 东郭 南门 羊舌 微生 "
    "公户 公玉 公仪 梁丘 公仲 公上 公门 公山 公坚 左丘 公伯 西门 公祖 第五 公乘 贯丘 公皙 南荣 "
    "东里 东宫 仲长 子书 子桑 即墨 达奚 褚师"
)
COMPOUND_SURNAMES = frozenset(_COMPOUND_SURNAMES_TEXT.split())
POLITE_TITLES = ("先生", "女士", "小姐", "同志", "阿姨", "师傅", "大爷", "大妈", "老师", "大姐", "大哥")
_SEPARATORS = frozenset(" ·•・.-'")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0003134f"


def _mask_rest(text: str, keep: int) -> str:
    """Keep the first ``keep`` non-separator characters, mask the others, keep separators."""
    out = []
    kept = 0
    for ch in text:
        if ch in _SEPARATORS:
            out.append(ch)
        elif kept < keep:
            out.append(ch)
            kept += 1
        else:
            out.append(MASK)
    return "".join(out)


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    name = " ".join(unicodedata.normalize("NFKC", value).split())
    letters = [ch for ch in name if ch not in _SEPARATORS]
    if len(letters) <= 1:
        return MASK * len(letters)
    if not _is_cjk(letters[0]):
        return _mask_rest(name, 1)
    for title in POLITE_TITLES:
        surname = name[: -len(title)]
        if name.endswith(title) and (
            (len(surname) == 1 and _is_cjk(surname)) or surname in COMPOUND_SURNAMES
        ):
            return name
    if "·" in name or "•" in name or "・" in name:
        return _mask_rest(name, 1)  # transliterated minority or foreign names: first character only
    surname_length = 2 if name[:2] in COMPOUND_SURNAMES and len(letters) > 2 else 1
    return _mask_rest(name, surname_length)


# --- addresses ---------------------------------------------------------------------------------------

ADDRESS_MARKERS = ("社区", "居委会", "村委会", "小区", "村")
ADDRESS_FALLBACK_CHARS = 12
_NUMBER_RE = re.compile(r"[0-9〇零一二三四五六七八九十百]+(号|栋|幢|楼|单元|室|层|户|弄|巷|排)|[0-9]")


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    address = "".join(unicodedata.normalize("NFKC", value).split())
    number = _NUMBER_RE.search(address)
    limit = number.start() if number is not None else len(address)
    keep = ""
    for marker in ADDRESS_MARKERS:
        index = address.find(marker)
        if index > 0:
            keep = address[: index + len(marker)]
            break
    if not keep:
        keep = address[: min(ADDRESS_FALLBACK_CHARS, len(address) // 2)]
    keep = keep[:limit]
    if keep == address:
        return address
    return keep + MASK * 3
