"""Base settings, driven by environment variables through django-environ.

Every value that differs between machines comes from the environment (or a ``.env`` file in
the project directory). Defaults give the zero-setup embedded mode: a SQLite file, an
embedded Celery broker on the file system and console e-mail.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from okrly.envcheck import bool_value, db_url_value, env_value, rate_value
from okrly.ssoconfig import sso_settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime state of the embedded mode (SQLite file, broker folders, beat schedule) lives here.
VAR_DIR = Path(environ.Env().str("OKRLY_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
# OKRLY_DOTENV=0 ignores the file: the settings tests build exact environments.
if environ.Env().str("OKRLY_DOTENV", default="1") != "0":
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env_value(env.bool, "DEBUG", default=False)
SECRET_KEY = env_value(env.str, "SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env_value(env.list, "ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS: list[str] = env_value(env.list, "CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django's admin, with person pickers labelled "Name (Team)" (okrly/admin_site.py).
    "okrly.admin_apps.OkrlyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles so that runserver serves static files the way production does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "okrly",
    "objectives",
    "dependencies",
    "checkins",
    "ownership",
    "reviews",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A NUL in the address is refused with 400 before anything reads it (PostgreSQL can't).
    "okrly.inputguard.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page requires sign-in unless its view opts out (login, password reset, API).
    "okrly.middleware.LoginRequiredMiddleware",
    # Dates and times in the signed-in viewer's own zone (read only when a page shows one).
    "okrly.zones.ViewerZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The Content-Security-Policy header on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Turns django-axes' lockout of a sign-in into its page; last, as axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "okrly.urls"
WSGI_APPLICATION = "okrly.wsgi.application"
ASGI_APPLICATION = "okrly.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "okrly.context_processors.navigation",
            ],
        },
    },
]

# Django's form renderer with its commonest widget templates written in Python (a page of
# check-in cards spent most of its time rendering <option> and <input> tags).
FORM_RENDERER = "okrly.formrender.FastWidgets"

DATABASES = {
    "default": db_url_value(env, "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'okrly.sqlite3'}"),
}
# Persistent connections with health checks: without them a one-query page was 13x slower.
DATABASES["default"]["CONN_MAX_AGE"] = env_value(env.int, "CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles any query whose estimated cost passes a threshold, on every
    # execution: the dashboard's aggregate query cost 60-110 ms more with it. Short OLTP
    # queries never gain from it.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = (str(_options.get("options", "")) + " -c jit=off").strip()
    # Server-side parameters let psycopg prepare a statement the fifth time a connection runs
    # it, so PostgreSQL stops planning it again: planning was most of the database's time on
    # the dashboard pages (3.2 of 3.6 ms on "Asked of me"), and the page 26% faster with it.
    # Persistent connections keep the prepared statements. Behind a transaction-mode pooler
    # set DATABASE_PREPARE_THRESHOLD to 0 to turn preparing off.
    _options.setdefault("server_side_binding", True)
    _threshold = env_value(env.int, "DATABASE_PREPARE_THRESHOLD", default=5)
    _options.setdefault("prepare_threshold", _threshold or None)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite cannot create the folder of its file; a fresh checkout has no var/ yet.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while the worker writes; the timeout waits out a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the person's profile (their time zone) with them.
    "okrly.backends.ProfileBackend",
]
# Sessions are read from the cache and written through to the database: a signed-in page
# costs no SQL query for its session. The cache is Redis in production (CACHE_URL, by default
# REDIS_URL's server), memory in development and tests.
CACHES = {"default": env_value(env.cache_url, "CACHE_URL", default="locmemcache://")}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def fail_soft_cache(config: dict[str, Any]) -> dict[str, Any]:
    """Django's Redis cache becomes okrly/cache.py's: a Redis outage is then a cache miss, so
    sessions fall back to the database and pages stay up."""
    if config.get("BACKEND") == "django.core.cache.backends.redis.RedisCache":
        return {**config, "BACKEND": "okrly.cache.FailSoftRedisCache"}
    return config


CACHES["default"] = fail_soft_cache(CACHES["default"])

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Single sign-on through OpenID Connect (okrly/sso.py), on when OIDC_RP_CLIENT_ID is set: the
# OIDC_* variables (okrly/ssoconfig.py, README "Single sign-on"). PASSWORD_SIGN_IN=staff
# keeps the password form for staff only.
_sso = sso_settings(
    env, installed_apps=INSTALLED_APPS, middleware=MIDDLEWARE, backends=AUTHENTICATION_BACKENDS
)
vars().update(_sso)
# OKRly's own, named for the type checker (django-stubs reads names from this module).
OIDC_ENABLED: bool = _sso["OIDC_ENABLED"]
PASSWORD_SIGN_IN: str = _sso["PASSWORD_SIGN_IN"]
OIDC_PROVIDER_NAME: str = _sso["OIDC_PROVIDER_NAME"]
OIDC_UNKNOWN_USERS: str = _sso["OIDC_UNKNOWN_USERS"]
OIDC_NEW_USER_TEAM: str = _sso["OIDC_NEW_USER_TEAM"]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_value(env.str, "TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT: Path | None = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# E-mail: console by default; EMAIL_URL=smtp://user:pass@host:587/?tls=True for real mail.
vars().update(env_value(env.email_url, "EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env_value(env.str, "DEFAULT_FROM_EMAIL", default="OKRly <okrly@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in e-mails (notifications, password reset from tasks) start with this.
SITE_URL = env_value(env.url, "SITE_URL", default="http://127.0.0.1:8000").geturl().rstrip("/")

# --- Celery -------------------------------------------------------------------------------
# REDIS_URL is the usual production knob; CELERY_BROKER_URL wins when both are set. With
# neither, the embedded broker keeps messages in files under var/ (see okrly/broker.py).
REDIS_URL = env_value(env.str, "REDIS_URL", default="")
CELERY_BROKER_URL = env_value(env.str, "CELERY_BROKER_URL", default=REDIS_URL or "okrlyfs://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("okrlyfs://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A Redis that hangs instead of refusing must not hold a request that queues a task on
    # commit: each publish attempt gives up after this many seconds (the sweep sends later).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2}
# Tasks are queued after a write commits, inside the request: with the broker down, Celery's
# default of 3 publish retries held each check-in ~0.6-1.2 s here. One quick retry rides out a
# blip; anything longer is left to the 5-minute e-mail sweep, which finds what was never queued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged after it ran, so a worker killed mid-task hands it to another;
# tasks are idempotent (claims in the database), which makes the redelivery harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_value(env.int, "CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env_value(env.int, "CELERY_TASK_TIME_LIMIT", default=180)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# The beat schedule, in one place. Run exactly one beat process: beat has no lock, and two
# would fire every entry twice (the jobs are idempotent, but the work would double).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    # Every 5 minutes: e-mail notifications whose send was lost (broker down when they were
    # created, or a worker that died mid-send). Claims in the database keep it at-most-once.
    "notifications-email-sweep": {
        "task": "okrly.tasks.notifications_email_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Every 5 minutes: invitations whose send was lost (queued while the broker was down, or
    # a worker that died mid-send); claimed rows keep each e-mail at-most-once.
    "invitations-email-sweep": {
        "task": "okrly.tasks.invitations_email_sweep",
        "schedule": crontab(minute="1-59/5"),
    },
    # Every 15 minutes: climb the escalation ladder of dependencies whose next rung is due
    # (an indexed query on next_escalation_at; unique Escalation rows make a rerun harmless).
    "dependencies-escalate": {
        "task": "dependencies.tasks.dependencies_escalate_task",
        "schedule": crontab(minute="*/15"),
    },
    # Every 15 minutes: the quarter's check-in hour arrives at a different moment in each
    # owner's time zone (zones with 30- and 45-minute offsets included); prompt those whose
    # hour has come. A unique (owner, quarter, week) row makes a second run send nothing.
    "checkins-prompt": {
        "task": "checkins.tasks.checkins_send_prompts_task",
        "schedule": crontab(minute="*/15"),
    },
    # Every 15 minutes: climb the missed-check-in ladder for prompts whose next rung is due.
    "checkins-missed": {
        "task": "checkins.tasks.checkins_escalate_missed_task",
        "schedule": crontab(minute="7,22,37,52"),
    },
    # Every 15 minutes, between the others: climb the acknowledgement ladder of definition
    # versions whose next rung is due (unique DefinitionReminder rows make a rerun harmless).
    "definitions-remind": {
        "task": "objectives.tasks.definitions_remind_task",
        "schedule": crontab(minute="11,26,41,56"),
    },
    # Every 15 minutes, between the others: climb the ladder of early escalations left
    # unanswered past their deadline (unique EarlyEscalationRung rows make a rerun harmless).
    "early-escalations-escalate": {
        "task": "reviews.tasks.early_escalations_escalate_task",
        "schedule": crontab(minute="4,19,34,49"),
    },
    # Every 15 minutes: climb the ladders of missed-commitment responses not recorded by their
    # deadline and of overdue next steps (unique ResponseReminder rows make a rerun harmless).
    "responses-escalate": {
        "task": "reviews.tasks.responses_escalate_task",
        "schedule": crontab(minute="9,24,39,54"),
    },
    # Hourly: open the response to every key result that ended a closed (or past) quarter
    # below MISSED_KR_THRESHOLD. One response per key result and quarter, in the database.
    "responses-open-for-closed-quarters": {
        "task": "reviews.tasks.responses_open_for_closed_quarters",
        "schedule": crontab(minute=3),
    },
    # Every 15 minutes: move every active quarter whose last day has come (UTC) to reviewing
    # and create its ungraded grades (a conditional UPDATE: a rerun changes nothing).
    "quarters-start-reviewing": {
        "task": "reviews.tasks.quarters_start_reviewing_task",
        "schedule": crontab(minute="2,17,32,47"),
    },
    # Every 15 minutes: climb the ladder of key results still ungraded in a reviewing quarter
    # (unique GradeReminder rows make a rerun harmless).
    "grades-remind": {
        "task": "reviews.tasks.grades_remind_task",
        "schedule": crontab(minute="13,28,43,58"),
    },
    # Every 15 minutes: apply the setting a structural decision changes once its quarter has
    # started (OrgSetting or the team's limit, logged in SettingChange; applied_at: once).
    "decisions-apply": {
        "task": "reviews.tasks.decisions_apply_due_task",
        "schedule": crontab(minute="6,21,36,51"),
    },
    # Every 15 minutes: rewrite the key-result status rows a date has changed (a promised
    # dependency fell due); the partial index on changes_at finds them, nothing else is read.
    "statuses-refresh": {
        "task": "ownership.tasks.statuses_refresh_task",
        "schedule": crontab(minute="1,16,31,46"),
    },
    # Every 15 minutes: the leaders' weekly digest, on Monday from LEADER_DIGEST_HOUR in each
    # leader's own zone (30- and 45-minute offsets included); a unique (leader, Monday) row
    # is written before the e-mail is queued, so a rerun sends nothing.
    "leaders-digest": {
        "task": "reviews.tasks.leaders_send_digests_task",
        "schedule": crontab(minute="8,23,38,53"),
    },
    # Every 15 minutes: the current week's dashboard headline (reviews.HeadlineSnapshot), so
    # that the dashboard shows each figure's change since last week ended (one row per
    # quarter and week, rewritten: a rerun changes nothing more).
    "headlines-snapshot": {
        "task": "reviews.tasks.headlines_snapshot_task",
        "schedule": crontab(minute="14,29,44,59"),
    },
    # Every minute: send the Slack and Teams posts that are due (new ones are also sent on
    # commit; this catches those whose kick was lost and retries after a backoff). Claims in
    # the database keep each post at most once.
    "channels-deliver": {
        "task": "okrly.tasks.channels_deliver_task",
        "schedule": crontab(),
    },
    # Hourly: post each team's weekly digest to its channels once the week's check-in deadline
    # (check-in moment + CHECKIN_MISSED_RUNG_HOURS[0]) has passed; a unique (team, quarter,
    # week) row is written first, so a rerun posts nothing.
    "teams-post-digests": {
        "task": "reviews.tasks.teams_post_digests_task",
        "schedule": crontab(minute=12),
    },
    # Nightly: recompute whether each open quarter's definitions are shared (rule 9), the
    # repair of a flag two concurrent transactions could each have missed.
    "definitions-refresh": {
        "task": "objectives.tasks.definitions_refresh_task",
        "schedule": crontab(hour=3, minute=10),
    },
    # Nightly: repair the department of a team created or moved in bulk (Team.department,
    # which the dashboard adds its figures up by); Team.save keeps it otherwise.
    "teams-departments-refresh": {
        "task": "okrly.tasks.teams_departments_refresh_task",
        "schedule": crontab(hour=3, minute=20),
    },
}

# Dependency escalation ladder (rule 7). A request waiting on the responsible person this
# many days, or a commitment past the end of its due date, starts the ladder; rung n (1:
# the responsible person, 2: their team lead, 3: the leadership group) is reached this many
# hours after that start.
DEPENDENCY_UNANSWERED_DAYS = env_value(env.int, "DEPENDENCY_UNANSWERED_DAYS", default=3)
DEPENDENCY_ESCALATION_RUNG_HOURS: list[int] = env_value(
    env.list, "DEPENDENCY_ESCALATION_RUNG_HOURS", cast=int, default=[0, 48, 120]
)
# Weekly check-ins (rule 6). The prompt goes out at the quarter's check-in weekday and hour
# in each owner's own time zone; a prompt missed by more than the grace period (the job was
# down) is not sent late. Missed check-ins climb a ladder (owner, manager or team lead,
# leadership) this many hours after the prompt. "On track" is flagged when the linear
# forecast misses the target by more than this share of the start-to-target distance.
CHECKIN_PROMPT_GRACE_HOURS = env_value(env.int, "CHECKIN_PROMPT_GRACE_HOURS", default=24)
CHECKIN_MISSED_RUNG_HOURS: list[int] = env_value(
    env.list, "CHECKIN_MISSED_RUNG_HOURS", cast=int, default=[24, 48, 96]
)
CHECKIN_FORECAST_MARGIN = env_value(env.float, "CHECKIN_FORECAST_MARGIN", default=0.1)
# A missed week can still be checked in, marked late, until this many days after its
# check-in moment (the prompt); after that its gap stays "missed" in the timeline.
CHECKIN_LATE_DAYS = env_value(env.int, "CHECKIN_LATE_DAYS", default=6)
# The leaders' weekly digest goes out on Monday from this hour in each leader's own zone.
LEADER_DIGEST_HOUR = env_value(env.int, "LEADER_DIGEST_HOUR", default=8)
# Shared definitions (rule 9): a definition group member who has not acknowledged a version
# this many days after it was published is reminded, then their manager (or team lead), then
# leadership, these many hours after that (one entry per rung).
DEFINITION_ACK_DAYS = env_value(env.int, "DEFINITION_ACK_DAYS", default=5)
DEFINITION_ACK_RUNG_HOURS: list[int] = env_value(
    env.list, "DEFINITION_ACK_RUNG_HOURS", cast=int, default=[0, 48, 96]
)
# The priority limit (rule 8): objectives per team and quarter (a team's or a quarter's own
# limit overrides it) and key results per objective. Past them in an active quarter, an
# addition is a trade-off decision; a team with more than TRADE_OFF_WARN decisions in a
# quarter is highlighted (constant re-prioritisation is a signal of its own).
OBJECTIVE_LIMIT_DEFAULT = env_value(env.int, "OBJECTIVE_LIMIT_DEFAULT", default=3)
KEY_RESULT_LIMIT_DEFAULT = env_value(env.int, "KEY_RESULT_LIMIT_DEFAULT", default=5)
TRADE_OFF_WARN = env_value(env.int, "TRADE_OFF_WARN", default=2)
for _name in ("OBJECTIVE_LIMIT_DEFAULT", "KEY_RESULT_LIMIT_DEFAULT"):
    if vars()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be 1 or more.")
# Responses to missed commitments (rule 10): a key result that ends its quarter below this
# share of the way to target is a miss (unless a trade-off displaced it); so are this many
# missed check-ins in a row. A response is recorded within RESPONSE_DAYS working days, or it
# climbs the ladder at RESPONSE_RUNG_HOURS after that; an overdue next step climbs at
# NEXT_STEP_RUNG_HOURS after the end of its due date.
MISSED_KR_THRESHOLD = env_value(env.float, "MISSED_KR_THRESHOLD", default=0.7)
MISSED_CHECKINS_RESPONSE = env_value(env.int, "MISSED_CHECKINS_RESPONSE", default=2)
RESPONSE_DAYS = env_value(env.int, "RESPONSE_DAYS", default=5)
RESPONSE_RUNG_HOURS: list[int] = env_value(
    env.list, "RESPONSE_RUNG_HOURS", cast=int, default=[0, 48, 96]
)
NEXT_STEP_RUNG_HOURS: list[int] = env_value(
    env.list, "NEXT_STEP_RUNG_HOURS", cast=int, default=[0, 48, 96]
)
# Early escalation (rule 7): the named person answers within this many working hours (hours
# of Monday to Friday in their own time zone) or by the date the raiser needs it, whichever
# comes first; unanswered, it climbs the ladder at EARLY_ESCALATION_RUNG_HOURS after that.
ESCALATION_ANSWER_HOURS = env_value(env.int, "ESCALATION_ANSWER_HOURS", default=48)
EARLY_ESCALATION_RUNG_HOURS: list[int] = env_value(
    env.list, "EARLY_ESCALATION_RUNG_HOURS", cast=int, default=[0, 24, 72]
)
# Grading (issue 13): when a quarter starts reviewing, each key result's owner grades it. The
# score (0-1 by direction) is "achieved" from KR_ACHIEVED_SCORE, "partly" from KR_PARTLY_SCORE,
# "missed" below; an ungraded key result climbs the ladder (owner, manager or team lead,
# leadership) at GRADE_MISSED_RUNG_HOURS after reviewing started.
KR_ACHIEVED_SCORE = env_value(env.float, "KR_ACHIEVED_SCORE", default=0.7)
KR_PARTLY_SCORE = env_value(env.float, "KR_PARTLY_SCORE", default=0.3)
if not 0 <= KR_PARTLY_SCORE <= KR_ACHIEVED_SCORE <= 1:
    raise ImproperlyConfigured("Need 0 <= KR_PARTLY_SCORE <= KR_ACHIEVED_SCORE <= 1.")
GRADE_MISSED_RUNG_HOURS: list[int] = env_value(
    env.list, "GRADE_MISSED_RUNG_HOURS", cast=int, default=[24, 48, 96]
)
# The Django group whose members receive the last rung of every ladder.
LEADERSHIP_GROUP = env_value(env.str, "LEADERSHIP_GROUP", default="Leadership")

# Notification e-mail: a claim older than this is considered abandoned (worker killed).
# Longer than the task hard time limit, so a live sender never loses its claim.
NOTIFICATION_EMAIL_CLAIM_TIMEOUT = env_value(
    env.int, "NOTIFICATION_EMAIL_CLAIM_TIMEOUT", default=15 * 60
)
NOTIFICATION_EMAIL_BATCH_SIZE = 100
# Days an invitation's set-password link works after it was e-mailed (okrly/invitations.py).
INVITATION_TIMEOUT_DAYS = env_value(env.int, "INVITATION_TIMEOUT_DAYS", default=7)
# After this many attempts an e-mail that still cannot be sent is marked failed; the in-app
# notification stays. Seven task attempts (six retries) plus one sweep.
NOTIFICATION_EMAIL_MAX_ATTEMPTS = env_value(env.int, "NOTIFICATION_EMAIL_MAX_ATTEMPTS", default=8)

# --- Slack and Microsoft Teams channels (okrly/channels.py) ----------------------------------
# The Fernet key the webhook URLs are encrypted with (`Fernet.generate_key()`); empty: a key
# derived from SECRET_KEY (then rotating SECRET_KEY means setting the webhooks again).
CHANNEL_KEY = env_value(env.str, "CHANNEL_KEY", default="")
if CHANNEL_KEY:
    import base64 as _base64
    import binascii as _binascii

    try:
        _key_ok = len(_base64.urlsafe_b64decode(CHANNEL_KEY.encode())) == 32
    except (_binascii.Error, ValueError):
        _key_ok = False
    if not _key_ok:
        raise ImproperlyConfigured(
            "CHANNEL_KEY must be a Fernet key: 32 bytes, URL-safe base64 (44 characters)."
        )
# Development and tests only: accept http:// webhooks on any host (a local stand-in server).
WEBHOOK_ALLOW_HTTP = bool_value("WEBHOOK_ALLOW_HTTP", default=False)
# This many refusals in a row (4xx other than 429) disable a channel until re-enabled.
WEBHOOK_MAX_FAILURES = env_value(env.int, "WEBHOOK_MAX_FAILURES", default=5)
# A post still unsent after this many attempts is given up.
WEBHOOK_MAX_ATTEMPTS = env_value(env.int, "WEBHOOK_MAX_ATTEMPTS", default=8)
# Seconds to wait for a webhook's answer; the longest wait between two attempts.
WEBHOOK_TIMEOUT = env_value(env.int, "WEBHOOK_TIMEOUT", default=10)
WEBHOOK_BACKOFF_MAX = env_value(env.int, "WEBHOOK_BACKOFF_MAX", default=3600)
# A claim older than this is abandoned (worker killed): longer than the task's time limit.
WEBHOOK_CLAIM_TIMEOUT = env_value(env.int, "WEBHOOK_CLAIM_TIMEOUT", default=10 * 60)
WEBHOOK_BATCH_SIZE = 100
for _name in ("WEBHOOK_MAX_FAILURES", "WEBHOOK_MAX_ATTEMPTS", "WEBHOOK_TIMEOUT"):
    if vars()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be 1 or more.")

# How many proxies in front of the app append to X-Forwarded-For (0: clients connect directly,
# or the proxy's own address stands for every client). Used for every per-address limit.
TRUSTED_PROXY_COUNT = env_value(env.int, "TRUSTED_PROXY_COUNT", default=0)

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns a refused call into a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "okrly.api.exception_handler",
    # Calls per client (okrly/throttling.py: a failing cache lets calls through, never a 500).
    "DEFAULT_THROTTLE_CLASSES": [
        "okrly.throttling.UserRateThrottle",
        "okrly.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": rate_value(env, "API_THROTTLE_USER", default="600/min"),
        "anon": rate_value(env, "API_THROTTLE_ANON", default="60/min"),
    },
    # A client's address is REMOTE_ADDR unless proxies are trusted to set X-Forwarded-For;
    # without this DRF would believe any X-Forwarded-For, so a client could pick its own.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    # JSON too deeply nested is a 400 like any malformed body (okrly/inputguard.py).
    "DEFAULT_PARSER_CLASSES": [
        "okrly.inputguard.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OKRly API",
    "DESCRIPTION": "OKR tracking that makes accountability the product.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Like every page, the schema and its docs are for signed-in users (session or token).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Every operation documents its refusals (400/401/403/404/429), not only its success.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "okrly.api.document_error_responses",
    ],
    # Two models' "status" choices (a review's open/closed among them) need their own names.
    "ENUM_NAME_OVERRIDES": {"ReviewStatusEnum": "reviews.models.Review.Status"},
}

# --- Limits on repeated attempts ------------------------------------------------------------
# Sign-in lockout (django-axes): this many wrong passwords for one user name from one address
# lock that pair out for AXES_COOLOFF_MINUTES; a right password resets the count. Attempts are
# kept in the database, so a cache outage neither unlocks nor breaks sign-in.
AXES_FAILURE_LIMIT = env_value(env.int, "AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env_value(env.int, "AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "okrly.throttling.lockout_response"
AXES_CLIENT_IP_CALLABLE = "okrly.throttling.client_address"
# Failures are what the lockout needs; a row for every successful sign-in is not.
AXES_DISABLE_ACCESS_LOG = True
# Password-reset e-mails: at most this many an hour for one e-mail address, and as many for
# one client address. Requests past the limit get the same page and send nothing, so the
# page never tells whether an account uses the address (okrly/throttling.py).
PASSWORD_RESET_LIMIT = env_value(env.int, "PASSWORD_RESET_LIMIT", default=5)
if PASSWORD_RESET_LIMIT < 1:
    raise ImproperlyConfigured("PASSWORD_RESET_LIMIT must be 1 or more (e-mails an hour).")

# --- Content Security Policy (django-csp 4) --------------------------------------------------
# Scripts and styles come from this site's own static files only: no inline script, no inline
# handler, no eval (htmx runs with allowEval false, templates/base.html). Pico's icons are
# data: images. The API docs page alone adds what Redoc needs (okrly/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_value(env.str, "LOG_LEVEL", default="INFO")},
    # urllib3 logs each request's path at DEBUG, and a webhook's path is its secret
    # (okrly/channels.py): never below WARNING, whatever LOG_LEVEL says.
    "loggers": {"urllib3": {"level": "WARNING"}},
}
