"""Top-level URLs: accounts (allauth), the admin, the regional office and the elections app."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from elections.office import office_site

# One login for everyone, allauth's, so that its second-factor step cannot be
# skipped by signing in through the admin's own password form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]

urlpatterns = [
    path("admin/", admin.site.urls),
    # The regional office: its own admin site, for regional officials only.
    path("office/", office_site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("elections.urls")),
]
