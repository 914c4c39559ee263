"""OKRly project package and core app (org structure, notifications, shared helpers)."""

from okrly.celery import app as celery_app

__all__ = ["celery_app"]
