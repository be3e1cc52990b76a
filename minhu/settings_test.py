"""Test settings: the same settings with fast hashing and an immediate Huey."""

from __future__ import annotations

import os

os.environ.setdefault("MINHU_ALLOW_DEV_KEY", "1")

from minhu.settings import *  # noqa: E402,F403
from minhu.settings import HUEY  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUEY = {**HUEY, "immediate": True}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "minhu-tests"}}
