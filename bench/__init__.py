"""The dashboard benchmark (``make bench``): a large seeded organisation served by gunicorn."""
