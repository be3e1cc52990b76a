"""Attachments: cleaned by content, re-encoded without metadata, served only through the scoped,
authorised views (API and page), with confidentiality (issue 3 "Privacy and attachments")."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest
from django.test import Client
from PIL import Image

from core.tests.identity_helpers import login_verified
from orders.attachments import AttachmentRefused, attachment_add, attachment_clean, safe_name, sniff_kind
from orders.choices import OrderStatus
from orders.models import Attachment, OrderEvent
from orders.tests.api.conftest import Api, _clean_cache, _media  # noqa: F401 -- fixtures
from orders.tests.factories import make_order, walk_to

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
MAKE, MODEL, ORIENTATION = 0x010F, 0x0110, 0x0112


def jpeg_with_gps(size=(64, 32), orientation=None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[MAKE] = "MinhuPhone"
    exif[MODEL] = "X-1000 Secret Model"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 17.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_with_text() -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address 东华路12号")
    out = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 0, 0, 128)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_test_photo_really_carries_gps_and_device():
    source = Image.open(io.BytesIO(jpeg_with_gps()))
    exif = source.getexif()
    assert exif[MAKE] == "MinhuPhone" and exif.get_ifd(GPS_IFD)[1] == "N"


def test_gps_and_device_are_gone_after_upload(api, cast, order):
    response = api(cast.agent).upload(
        f"/api/v1/orders/{order.pk}/attachments", jpeg_with_gps(), "IMG_0001.JPG"
    )
    assert response.status_code == 201, response.json()
    stored = Attachment.objects.get(pk=response.json()["id"])
    data = stored.file.read()
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (64, 32)
    exif = image.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    assert b"MinhuPhone" not in data and b"Secret Model" not in data and b"Exif" not in data
    assert stored.content_type == "image/jpeg" and stored.original_name == "IMG_0001.jpg"
    assert OrderEvent.objects.filter(order=order, type="attachment_added").count() == 1


def test_orientation_is_applied_before_the_metadata_goes():
    clean = attachment_clean(jpeg_with_gps(size=(40, 20), orientation=6), name="p.jpg")
    assert Image.open(io.BytesIO(clean.content)).size == (20, 40)


def test_png_text_chunks_are_gone_and_transparency_stays():
    clean = attachment_clean(png_with_text(), name="shot.png")
    assert clean.content_type == "image/png"
    assert "东华路".encode() not in clean.content and b"Comment" not in clean.content
    assert Image.open(io.BytesIO(clean.content)).mode == "RGBA"


def test_anything_appended_to_an_image_is_dropped():
    polyglot = jpeg_with_gps() + b"<script>alert(1)</script>"
    assert b"<script>" not in attachment_clean(polyglot).content


def test_large_photos_are_scaled_down(settings):
    settings.ATTACHMENT_IMAGE_MAX_SIDE = 100
    out = io.BytesIO()
    Image.new("RGB", (400, 200)).save(out, format="JPEG")
    assert Image.open(io.BytesIO(attachment_clean(out.getvalue()).content)).size == (100, 50)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>', "SVG"),
        (b"  <svg onload=alert(1)>", "SVG"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (b"\xef\xbb\xbf<html><script>x</script>", "HTML"),
        (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "可执行"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "可执行"),
        (b"#!/bin/sh\nrm -rf /\n", "可执行"),
        (b"PK\x03\x04" + b"\x00" * 40, "压缩包"),
        (b"just some text", "无法识别"),
    ],
)
def test_svg_html_executables_and_unknown_files_are_refused_whatever_their_name(data, message):
    with pytest.raises(AttachmentRefused) as refused:
        attachment_clean(data, name="photo.jpg")
    assert message in refused.value.message


def test_a_file_that_claims_to_be_a_jpeg_but_is_broken_is_refused():
    with pytest.raises(AttachmentRefused, match="损坏"):
        attachment_clean(b"\xff\xd8\xff\xe0" + b"garbage" * 20)


def test_a_pdf_is_kept_as_a_document():
    clean = attachment_clean(PDF, name="../../etc/通知.PDF")
    assert clean.content == PDF and clean.content_type == "application/pdf" and clean.name == "通知.pdf"
    assert sniff_kind(PDF) == "pdf"


def test_names_lose_paths_controls_and_false_extensions():
    assert safe_name("C:\\Users\\me\\evil.html", "jpg") == "evil.jpg"
    assert safe_name("a\x00b\u202ec.exe", "png") == "abc.png"
    assert safe_name("", "jpg") == "附件.jpg"


def test_size_and_pixel_limits(settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    with pytest.raises(AttachmentRefused, match="过大"):
        attachment_clean(jpeg_with_gps(size=(400, 400)))
    settings.ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    settings.ATTACHMENT_MAX_PIXELS = 100
    with pytest.raises(AttachmentRefused, match="像素"):
        attachment_clean(jpeg_with_gps())


def test_a_refused_upload_over_the_api_is_a_chinese_422_and_writes_nothing(api, cast, order):
    response = api(cast.agent).upload(f"/api/v1/orders/{order.pk}/attachments", b"<svg/>", "photo.jpg")
    assert response.status_code == 422
    assert "SVG" in response.json()["detail"]
    assert not Attachment.objects.filter(order=order).exists()


def test_the_number_of_attachments_per_order_is_limited(cast, order, now, settings):
    settings.ATTACHMENTS_PER_ORDER = 2
    for _ in range(2):
        attachment_add(order=order, actor=cast.agent, now=now, data=PDF, name="a.pdf")
    with pytest.raises(AttachmentRefused, match="最多2个"):
        attachment_add(order=order, actor=cast.agent, now=now, data=PDF, name="a.pdf")


def test_someone_who_cannot_act_on_the_order_cannot_attach(api, cast, order):
    response = api(cast.outsider).upload(f"/api/v1/orders/{order.pk}/attachments", PDF, "a.pdf")
    assert response.status_code == 404


# --- downloads -----------------------------------------------------------------------------------


@pytest.fixture
def stored(cast, order, now):
    return attachment_add(order=order, actor=cast.agent, now=now, data=jpeg_with_gps(), name="p.jpg")


def test_an_anonymous_download_is_refused(client, stored):
    api_response = client.get(f"/api/v1/orders/{stored.order_id}/attachments/{stored.pk}")
    assert api_response.status_code == 401
    page = client.get(f"/attachments/{stored.pk}")
    assert page.status_code == 302 and "/login" in page["Location"]
    assert not getattr(page, "streaming", False)


def test_an_out_of_scope_download_is_refused(api, cast, stored):
    response = api(cast.outsider).get(f"/api/v1/orders/{stored.order_id}/attachments/{stored.pk}")
    assert response.status_code == 404
    page_client = Client()
    login_verified(page_client, cast.outsider)
    assert page_client.get(f"/attachments/{stored.pk}").status_code == 404


def test_an_attachment_is_not_reachable_through_another_orders_path(api, cast, stored, now):
    other = make_order(actor=cast.agent, now=now)
    response = api(cast.agent).get(f"/api/v1/orders/{other.pk}/attachments/{stored.pk}")
    assert response.status_code == 404


def test_an_in_scope_download_carries_the_protective_headers(api, cast, stored):
    response = api(cast.agent).get(f"/api/v1/orders/{stored.order_id}/attachments/{stored.pk}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(body)).format == "JPEG"
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Disposition"].startswith("inline; filename=")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert "sandbox" in response["Content-Security-Policy"]


def test_the_page_view_serves_a_signed_in_user_in_scope(cast, stored):
    page_client = Client()
    login_verified(page_client, cast.agent)
    response = page_client.get(f"/attachments/{stored.pk}")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]


def test_a_document_is_served_as_a_download(api, cast, order, now):
    pdf = attachment_add(order=order, actor=cast.agent, now=now, data=PDF, name="通知.pdf")
    response = api(cast.agent).get(f"/api/v1/orders/{order.pk}/attachments/{pdf.pk}")
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E9%80%9A%E7%9F%A5.pdf" in response["Content-Disposition"]


def test_there_is_no_public_media_url(client, stored):
    assert client.get("/" + stored.file.name).status_code == 404
    assert client.get("/media/" + stored.file.name).status_code == 404


def test_a_confidential_orders_attachments_are_hidden_from_its_handlers(api, cast, now):
    order = make_order(actor=cast.agent, now=now, grid=cast.tree.grid, item=cast.item, confidential=True)
    photo = attachment_add(order=order, actor=cast.agent, now=now, data=jpeg_with_gps(), name="p.jpg")
    walk_to(order, OrderStatus.IN_PROGRESS, cast, now)
    handler = api(cast.district_handler)
    assert handler.get(f"/api/v1/orders/{order.pk}").json()["attachments"] == []
    assert handler.get(f"/api/v1/orders/{order.pk}/attachments/{photo.pk}").status_code == 404
    hotline = api(cast.agent)
    assert [a["id"] for a in hotline.get(f"/api/v1/orders/{order.pk}").json()["attachments"]] == [photo.pk]
    assert hotline.get(f"/api/v1/orders/{order.pk}/attachments/{photo.pk}").status_code == 200


def test_the_detail_lists_attachments_with_their_scoped_url(api, cast, stored):
    detail = api(cast.agent).get(f"/api/v1/orders/{stored.order_id}").json()
    assert detail["attachments"] == [
        {
            "id": stored.pk,
            "name": "p.jpg",
            "content_type": "image/jpeg",
            "size": stored.size,
            "created_at": detail["attachments"][0]["created_at"],
            "url": f"/api/v1/orders/{stored.order_id}/attachments/{stored.pk}",
        }
    ]


@pytest.fixture
def api(now):
    return lambda user: Api(user, now)


# --- files of transactions that rolled back ------------------------------------------------------


class BoomError(Exception):
    """A failure later in the action's transaction, after the file was written."""


def _media_files(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _age_markers(root, at: dt.datetime) -> None:
    """Give the markers the modification time ``at`` (the tests' clock is frozen; files are not)."""
    for marker in (root / "pending").iterdir():
        os.utime(marker, (at.timestamp(), at.timestamp()))


def test_a_rolled_back_upload_leaves_a_marker_and_the_sweep_removes_its_file(cast, order, now, settings):
    from django.db import transaction

    from orders.attachments import attachment_orphans_sweep

    root = settings.MEDIA_ROOT
    with pytest.raises(BoomError), transaction.atomic():
        lost = attachment_add(order=order, actor=cast.agent, now=now, data=PDF, name="a.pdf")
        raise BoomError  # e.g. the reply the photo belonged to was refused
    assert not Attachment.objects.filter(pk=lost.pk).exists()
    assert {lost.file.name, f"pending/{lost.storage_token}"} <= _media_files(root)
    # within the grace period the transaction might still be running: nothing goes
    _age_markers(root, now - dt.timedelta(minutes=30))
    assert attachment_orphans_sweep(now=now) == 0
    assert lost.file.name in _media_files(root)
    _age_markers(root, now - dt.timedelta(hours=2))
    assert attachment_orphans_sweep(now=now) == 1
    assert _media_files(root) == set()


def test_a_committed_upload_keeps_its_file_and_loses_its_marker(
    cast, order, now, settings, django_capture_on_commit_callbacks
):
    from orders.attachments import attachment_orphans_sweep

    root = settings.MEDIA_ROOT
    with django_capture_on_commit_callbacks(execute=True):
        kept = attachment_add(order=order, actor=cast.agent, now=now, data=PDF, name="a.pdf")
    assert _media_files(root) == {kept.file.name}
    assert attachment_orphans_sweep(now=now + dt.timedelta(days=1)) == 0
    assert _media_files(root) == {kept.file.name}


def test_a_marker_left_by_a_crash_after_commit_goes_but_its_file_stays(cast, order, now, settings):
    from orders.attachments import attachment_orphans_sweep

    root = settings.MEDIA_ROOT
    # the test's transaction never commits: the marker stays, as after a crash between the
    # commit and the marker's removal — while the row exists
    kept = attachment_add(order=order, actor=cast.agent, now=now, data=PDF, name="a.pdf")
    assert f"pending/{kept.storage_token}" in _media_files(root)
    _age_markers(root, now - dt.timedelta(hours=2))
    assert attachment_orphans_sweep(now=now) == 0
    assert _media_files(root) == {kept.file.name}
    assert Attachment.objects.filter(pk=kept.pk).exists()
