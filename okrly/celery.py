"""The Celery application. Configuration comes from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery

from okrly import broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "okrly.settings.dev")
broker.register()

app = Celery("okrly")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
