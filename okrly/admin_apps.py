"""Django's admin app with OKRly's site (okrly.admin_site) as ``admin.site``."""

from django.contrib.admin.apps import AdminConfig


class OkrlyAdminConfig(AdminConfig):
    default_site = "okrly.admin_site.OkrlyAdminSite"
