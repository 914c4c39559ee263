FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=okrly.settings.production \
    OKRLY_VAR_DIR=/app/var

WORKDIR /app
COPY pyproject.toml README.md ./
COPY okrly ./okrly
COPY objectives ./objectives
COPY ownership ./ownership
COPY dependencies ./dependencies
COPY checkins ./checkins
COPY reviews ./reviews
RUN pip install --no-cache-dir .
COPY . .

# collectstatic needs settings to load; these values exist only for this build step.
RUN SECRET_KEY=build-only-$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 okrly && mkdir -p /app/var && chown -R okrly /app/var
USER okrly
EXPOSE 8000
CMD ["gunicorn", "okrly.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
