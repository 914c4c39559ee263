from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.routers import DefaultRouter

from checkins.api import CheckInViewSet
from dependencies.api import DependencyViewSet
from objectives.api import ObjectiveViewSet, TradeOffCategoryViewSet, TradeOffViewSet
from okrly import channel_views, setup_people_views, setup_views, views
from okrly.api import QuarterViewSet, TeamViewSet
from ownership.api import KeyResultAccountabilityViewSet
from reviews import api as reviews_api
from reviews.early_escalation_api import EarlyEscalationViewSet
from reviews.grading_api import KeyResultGrade
from reviews.response_api import MissResponseViewSet
from reviews.review_api import ReviewViewSet

router = DefaultRouter()
router.register("quarters", QuarterViewSet)
router.register("teams", TeamViewSet)
router.register("objectives", ObjectiveViewSet, basename="objective")
router.register("trade-offs", TradeOffViewSet, basename="tradeoff")
router.register("trade-off-categories", TradeOffCategoryViewSet)
# Key results carry the Accountability Test, computed by the ownership app for each page.
router.register("key-results", KeyResultAccountabilityViewSet, basename="keyresult")
router.register("dependencies", DependencyViewSet, basename="dependency")
router.register("checkins", CheckInViewSet, basename="checkin")
# Responses to missed commitments (rule 10).
router.register("responses", MissResponseViewSet, basename="response")
router.register("reviews", ReviewViewSet, basename="review")
# Early escalations (rule 7).
router.register("early-escalations", EarlyEscalationViewSet, basename="earlyescalation")

# An outage answers 503 with a page of its own, not 500 (okrly/views.py).
handler500 = "okrly.views.server_error"
# An unknown address under /api/ answers JSON, like the rest of the API (okrly/inputguard.py).
handler404 = "okrly.inputguard.not_found"

urlpatterns = [
    path("", views.home, name="home"),
    path("asked/", views.asked_of_me, name="asked_of_me"),
    path("inbox/", views.inbox, name="inbox"),
    path("nav/counts/", views.nav_counts, name="nav_counts"),
    path("profile/", views.profile, name="profile"),
    path("inbox/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("inbox/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    # Slack and Microsoft Teams webhooks per team and for leadership (staff; issue 16).
    path("setup/channels/", channel_views.setup_channels, name="setup_channels"),
    path(
        "setup/channels/leadership/",
        channel_views.setup_channels_set,
        name="setup_channels_leadership",
    ),
    path(
        "setup/channels/team/<int:team_id>/",
        channel_views.setup_channels_set,
        name="setup_channels_team",
    ),
    path(
        "setup/channels/<int:pk>/remove/",
        channel_views.setup_channel_remove,
        name="setup_channels_remove",
    ),
    path(
        "setup/channels/<int:pk>/enable/",
        channel_views.setup_channel_enable,
        name="setup_channels_enable",
    ),
    path(
        "setup/channels/<int:pk>/test/",
        channel_views.setup_channel_test,
        name="setup_channels_test",
    ),
    path("objectives/", include("objectives.urls")),
    path("dependencies/", include("dependencies.urls")),
    path("checkins/", include("checkins.urls")),
    path("ownership/", include("ownership.urls")),
    # /dashboard/ and /reviews/ (reviews/urls.py).
    path("", include("reviews.urls")),
    # Issue 16: the organisation's set-up, for staff.
    path("setup/", setup_views.setup, name="setup"),
    path("setup/quarters/new/", setup_views.quarter_new, name="setup_quarter_new"),
    path(
        "setup/quarters/<int:pk>/activate/",
        setup_views.quarter_activate_view,
        name="setup_quarter_activate",
    ),
    path("setup/teams/", setup_views.teams, name="setup_teams"),
    path("setup/teams/<int:pk>/", setup_views.team_edit, name="setup_team"),
    # Setting people up (issue 16): import, invitations, and the link an invitation sends.
    path("setup/people/", setup_people_views.people_page, name="setup_people"),
    path(
        "setup/people/import/",
        setup_people_views.people_import_page,
        name="setup_people_import",
    ),
    path(
        "setup/people/invite-all/",
        setup_people_views.people_invite_all,
        name="setup_people_invite_all",
    ),
    path(
        "setup/people/<int:user_id>/invite/",
        setup_people_views.person_invite,
        name="setup_person_invite",
    ),
    path(
        "setup/people/<int:user_id>/resend/",
        setup_people_views.person_resend,
        name="setup_person_resend",
    ),
    path(
        "setup/people/<int:user_id>/revoke/",
        setup_people_views.person_revoke,
        name="setup_person_revoke",
    ),
    path("join/<str:uidb64>/<str:token>/", setup_people_views.join, name="join"),
    path("ping/", views.ping, name="ping"),
    path("healthz/", views.healthz, name="healthz"),
    path(
        "accounts/password_change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    # Django's reset page with a limit on the e-mails it sends (okrly/throttling.py).
    path(
        "accounts/password_reset/",
        views.LimitedPasswordResetView.as_view(),
        name="password_reset",
    ),
    # The sign-in page with OKRly's form (PASSWORD_SIGN_IN) and single sign-on's link.
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/dashboard/org/", reviews_api.OrgDashboard.as_view(), name="api_dashboard_org"),
    path(
        "api/dashboard/departments/<int:pk>/",
        reviews_api.DepartmentDashboard.as_view(),
        name="api_dashboard_department",
    ),
    path(
        "api/dashboard/teams/<int:pk>/",
        reviews_api.TeamDashboard.as_view(),
        name="api_dashboard_team",
    ),
    path(
        "api/dashboard/people/", reviews_api.PeopleDashboard.as_view(), name="api_dashboard_people"
    ),
    # Grading a key result when its quarter is reviewing (reviews.lifecycle).
    path("api/key-results/<int:pk>/grade/", KeyResultGrade.as_view(), name="api_key_result_grade"),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Redoc styles itself with injected <style> elements and searches in a blob: worker: this
    # page alone allows those. Scripts stay this site's own files (no inline script).
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="schema")
        ),
        name="api_docs",
    ),
]

if settings.OIDC_ENABLED:
    # Single sign-on (okrly/sso.py): /oidc/authenticate/ and the callback, /oidc/callback/.
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
