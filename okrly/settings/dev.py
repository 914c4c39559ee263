"""Local development and the zero-setup embedded mode (``make run``)."""

from __future__ import annotations

from django.core.management.utils import get_random_secret_key

from okrly.settings.base import *  # noqa: F403
from okrly.settings.base import SECRET_KEY, VAR_DIR

DEBUG = True
ALLOWED_HOSTS = ["*"]
# No collectstatic in development: WhiteNoise serves straight from the app folders, and the
# plain storage needs no manifest.
STATIC_ROOT = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

if not SECRET_KEY:
    # Generated once and kept under var/, so sessions survive restarts of the dev server.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(get_random_secret_key())
    SECRET_KEY = _key_file.read_text().strip()
