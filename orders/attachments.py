"""Attachments of orders: one upload path for the API and the pages, one scoped download view.

Upload: ``attachment_clean`` checks and cleans the bytes (no database); ``attachment_add`` is the
one service that stores them — permission check, one timeline event, confidentiality — used by
the API, the pages, resident submissions and Open311 alike (and re-exported by
``orders.services``).

- The **content** decides what a file is, never its name or the declared type: the first bytes
  are sniffed. Photos (JPEG, PNG, GIF, WebP) and PDF documents are accepted; SVG, HTML/XML,
  scripts and executables (PE, ELF, Mach-O, shebang scripts, archives) are refused with a
  Chinese message, as is anything unrecognised.
- Every image is **decoded and re-encoded** with Pillow from its pixels alone, so EXIF (GPS
  position, device, owner), XMP, IPTC, ICC comments and anything appended to the file are gone;
  the EXIF orientation is applied first so the photo stays upright. Large photos are scaled to
  ``ATTACHMENT_IMAGE_MAX_SIDE``; images beyond ``ATTACHMENT_MAX_PIXELS`` are refused before
  decoding (decompression bombs).
- Size limits fit phone photos: ``ATTACHMENT_MAX_BYTES`` per file [20 MB],
  ``ATTACHMENTS_PER_ORDER`` per order [30].
- Files are stored under ``MEDIA_ROOT/orders/<order>/`` with a random name; there is no media
  URL. Attachments of a confidential order are themselves confidential.

Download (``attachment_download`` view, and the API endpoint that calls
``attachment_response``): the attachment's order must be in ``orders_visible_to(user)``, and a
confidential attachment needs ``can_see_requester``; otherwise 404 (existence is not revealed).
Responses carry ``Content-Disposition``, ``X-Content-Type-Options: nosniff``,
``Cache-Control: no-store`` and a sandboxing ``Content-Security-Policy``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import secrets
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from PIL import Image, ImageOps, UnidentifiedImageError

from orders import permissions
from orders.choices import EventType, OrderStatus
from orders.errors import InvalidInput
from orders.models import Attachment, Order
from orders.selectors import order_can_write, orders_visible_to

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 60_000_000
DEFAULT_MAX_SIDE = 4096
DEFAULT_PER_ORDER = 30
JPEG_QUALITY = 85
NAME_MAX = 100


def max_bytes() -> int:
    return int(getattr(settings, "ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_pixels() -> int:
    return int(getattr(settings, "ATTACHMENT_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def max_side() -> int:
    return int(getattr(settings, "ATTACHMENT_IMAGE_MAX_SIDE", DEFAULT_MAX_SIDE))


def per_order() -> int:
    """How many attachments one order may have (checked by the storing service)."""
    return int(getattr(settings, "ATTACHMENTS_PER_ORDER", DEFAULT_PER_ORDER))


class AttachmentRefused(InvalidInput):  # noqa: N818 -- reads like its siblings in orders.errors
    """A file the platform does not take (type, size, damage); the message is Chinese."""

    code = "attachment_refused"


# --- sniffing ------------------------------------------------------------------------------------

IMAGE_KINDS = frozenset({"jpeg", "png", "gif", "webp"})
CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "pdf": "pdf"}

_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux ELF
    b"\xfe\xed\xfa\xce",  # Mach-O 32
    b"\xfe\xed\xfa\xcf",  # Mach-O 64
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
    b"#!",  # shebang scripts
    b"PK\x03\x04",  # zip, jar, apk, docx … (may carry anything)
    b"Rar!",
    b"7z\xbc\xaf\x27\x1c",
    b"\x00asm",  # WebAssembly
    b"dex\n",  # Android dex
)
_MARKUP_RE = re.compile(
    rb"<\s*(!doctype|html|head|body|script|iframe|svg|\?xml|xml|object|embed|meta|a\s|img|div|style|title)",
    re.IGNORECASE,
)


def sniff_kind(data: bytes) -> str:
    """The kind of a file from its first bytes: ``jpeg``, ``png``, ``gif``, ``webp`` or ``pdf``.

    Raises ``AttachmentRefused`` for SVG, HTML/XML, executables and anything unrecognised."""
    head = data[:512]
    stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe\xfe\xff \t\r\n\x00")
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(_EXECUTABLE_MAGIC):
        raise AttachmentRefused(_("不接受可执行文件、脚本或压缩包。"))
    lowered = stripped[:512].lower()
    if b"<svg" in lowered or lowered.startswith(b"<?xml"):
        raise AttachmentRefused(_("不接受 SVG 或 XML 文件，请上传照片（JPEG、PNG）或 PDF。"))
    if _MARKUP_RE.search(lowered):
        raise AttachmentRefused(_("不接受网页（HTML）文件，请上传照片（JPEG、PNG）或 PDF。"))
    raise AttachmentRefused(_("无法识别的文件类型，请上传照片（JPEG、PNG、GIF、WebP）或 PDF。"))


# --- cleaning ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanFile:
    """What is stored: the re-encoded bytes, their type and a safe display name."""

    content: bytes
    content_type: str
    extension: str
    name: str
    sha256: str


def safe_name(name: str, extension: str) -> str:
    """A display name without path, control characters or a misleading extension."""
    base = unicodedata.normalize("NFKC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[\"'<>|:*?;]", "_", stem)[: NAME_MAX - 6].strip() or _("附件")
    return f"{stem}.{extension}"


def _reencode(data: bytes) -> tuple[bytes, str]:
    """Decode an image and write its pixels alone (no metadata) as JPEG or PNG."""
    limit = max_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                width, height = opened.size
                if width <= 0 or height <= 0 or width * height > limit:
                    raise AttachmentRefused(_("图片尺寸过大（超过%(n)d万像素）。") % {"n": limit // 10_000})
                opened.seek(0)  # the first frame of an animation
                opened.load()
                image = ImageOps.exif_transpose(opened) or opened
                has_alpha = image.mode in ("RGBA", "LA", "PA") or (
                    image.mode == "P" and "transparency" in image.info
                )
                image = image.convert("RGBA" if has_alpha else "RGB")
    except AttachmentRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        raise AttachmentRefused(_("图片文件已损坏或无法读取。")) from None
    side = max_side()
    if max(image.size) > side:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    # A fresh image from the pixels alone: no info dict, no EXIF, XMP, ICC or text chunks.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if has_alpha:
        clean.save(out, format="PNG", optimize=True)
        return out.getvalue(), "png"
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), "jpeg"


def _clean_pdf(data: bytes) -> bytes:
    if b"%%EOF" not in data[-2048:]:
        raise AttachmentRefused(_("PDF 文件不完整或已损坏。"))
    return data


def attachment_clean(data: bytes, *, name: str = "") -> CleanFile:
    """Check and clean one uploaded file (no database access)."""
    if not data:
        raise AttachmentRefused(_("文件为空。"))
    limit = max_bytes()
    if len(data) > limit:
        raise AttachmentRefused(_("文件过大，单个文件不能超过%(n)d MB。") % {"n": limit // (1024 * 1024)})
    kind = sniff_kind(data)
    if kind in IMAGE_KINDS:
        content, kind = _reencode(data)
    else:
        content = _clean_pdf(data)
    extension = EXTENSIONS[kind]
    return CleanFile(
        content=content,
        content_type=CONTENT_TYPES[kind],
        extension=extension,
        name=safe_name(name, extension),
        sha256=hashlib.sha256(content).hexdigest(),
    )


def read_upload(upload: IO[bytes] | Any) -> bytes:
    """Read an uploaded file, refusing it before reading when it declares itself too large."""
    size = getattr(upload, "size", None)
    limit = max_bytes()
    if size is not None and size > limit:
        raise AttachmentRefused(_("文件过大，单个文件不能超过%(n)d MB。") % {"n": limit // (1024 * 1024)})
    data = upload.read(limit + 1)
    return bytes(data)


# --- storing -------------------------------------------------------------------------------------

_ACTOR_ROLES = permissions.HANDLING_ROLES | permissions.INTAKE_ROLES | permissions.CALLBACK_ROLES


@transaction.atomic
def attachment_add(*, order: Order, actor: Any, now: dt.datetime, data: bytes, name: str = "") -> Attachment:
    """Attach a photo or document to ``order``: cleaned (``attachment_clean``), stored under a
    random name, recorded by one ``attachment_added`` timeline event. ``actor=None`` is a
    resident's or an integration's own submission (the channel layer authenticated it); staff
    must see the order and be able to act on it now. A confidential order's files are
    confidential (hidden from whoever may not see its requester)."""
    from orders.services._core import begin, require, sync, transition

    clean = attachment_clean(data, name=name)
    current = begin(order, None)
    if current.status in (OrderStatus.MERGED, OrderStatus.WITHDRAWN):
        raise AttachmentRefused(_("已合并或已撤销的工单不能上传附件。"))
    if actor is not None:
        visible = orders_visible_to(actor).filter(pk=current.pk).exists()
        require(visible and order_can_write(actor, current))
    if Attachment.objects.filter(order_id=current.pk).count() >= per_order():
        raise AttachmentRefused(_("每个工单最多%(n)d个附件。") % {"n": per_order()})
    attachment = Attachment(
        order_id=current.pk,
        uploaded_by=actor if getattr(actor, "pk", None) else None,
        storage_token=secrets.token_hex(16),
        original_name=clean.name,
        content_type=clean.content_type,
        size=len(clean.content),
        sha256=clean.sha256,
        confidential=current.confidential,
        created_at=now,
    )
    attachment.file.save(f"upload.{clean.extension}", ContentFile(clean.content), save=False)
    _mark_pending(attachment)
    attachment.save(force_insert=True)
    unit = (
        permissions.actor_unit(actor, current.holder_unit_id or current.dispatch_unit_id, _ACTOR_ROLES)
        if actor is not None
        else None
    )
    event = transition(
        current,
        EventType.ATTACHMENT_ADDED,
        actor=actor,
        now=now,
        actor_unit=unit,
        payload={"attachment": attachment.pk, "content_type": clean.content_type, "size": attachment.size},
        derive=False,
    )
    Attachment.objects.filter(pk=attachment.pk).update(event=event)
    attachment.event = event
    sync(order, current)
    return attachment


# --- files of transactions that rolled back ------------------------------------------------------
#
# A file is written before its row, inside the action's transaction; when that transaction rolls
# back (a later photo refused, a stale reply, a crash) the row is gone and the file would stay
# for ever. So each upload also leaves a small marker under ``pending/`` naming its file, removed
# once the transaction commits; ``attachment_orphans_sweep`` (hourly) looks only at markers older
# than ``ORPHAN_GRACE`` — never at the whole media tree — and deletes the file when no row names
# it. A crash between the commit and the marker's removal leaves a marker whose row exists: the
# sweep then removes only the marker.

PENDING_DIR = "pending"
ORPHAN_GRACE = dt.timedelta(hours=1)


def _mark_pending(attachment: Attachment) -> None:
    storage = attachment.file.storage
    marker = storage.save(
        f"{PENDING_DIR}/{attachment.storage_token}", ContentFile(attachment.file.name.encode())
    )
    transaction.on_commit(lambda: storage.delete(marker))


def attachment_orphans_sweep(*, now: dt.datetime, grace: dt.timedelta = ORPHAN_GRACE) -> int:
    """Delete the files of uploads whose transaction rolled back (see above); returns how many
    files went. Safe to run twice or at once: deleting a missing file is nothing."""
    storage = Attachment._meta.get_field("file").storage
    try:
        _dirs, markers = storage.listdir(PENDING_DIR)
    except FileNotFoundError:
        return 0
    removed = 0
    for marker_name in markers:
        marker = f"{PENDING_DIR}/{marker_name}"
        try:
            if storage.get_modified_time(marker) > now - grace:
                continue  # its transaction may still be running
            with storage.open(marker, "rb") as handle:
                name = handle.read().decode()
        except FileNotFoundError:
            continue  # another sweep took it
        if name and not Attachment.objects.filter(file=name).exists() and storage.exists(name):
            storage.delete(name)
            removed += 1
        storage.delete(marker)
    return removed


# --- reading and serving -------------------------------------------------------------------------


def attachments_visible_to(actor: Any, order: Order) -> list[Attachment]:
    """The order's attachments ``actor`` may see (the order itself must already be in scope)."""
    qs = Attachment.objects.filter(order_id=order.pk).order_by("created_at", "pk")
    if not permissions.can_see_requester(actor, order):
        qs = qs.filter(confidential=False)
    return list(qs)


def attachment_get_for_user(actor: Any, pk: int) -> Attachment:
    """An attachment whose order ``actor`` may see, honouring confidentiality; else ``Http404``."""
    attachment = (
        Attachment.objects.select_related("order")
        .filter(pk=pk, order__in=orders_visible_to(actor).values("pk"))
        .first()
    )
    if attachment is None:
        raise Http404
    if attachment.confidential and not permissions.can_see_requester(actor, attachment.order):
        raise Http404
    return attachment


def content_disposition(attachment: Attachment) -> str:
    """``inline`` for re-encoded images, ``attachment`` for documents; RFC 6266 file names."""
    kind = "inline" if attachment.content_type.startswith("image/") else "attachment"
    name = attachment.original_name or f"attachment-{attachment.pk}"
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file with the headers that keep a browser from sniffing, caching or running it."""
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = content_disposition(attachment)
    response["Content-Length"] = str(attachment.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store, private, max-age=0"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@require_GET
@login_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """The page view: a signed-in user's scoped download (anonymous users go to the login page)."""
    return attachment_response(attachment_get_for_user(request.user, pk))
