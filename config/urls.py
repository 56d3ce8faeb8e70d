"""Top-level URLs: accounts (allauth), the admin, the regional office and the elections app."""

from django.contrib import admin
from django.urls import include, path

from elections.office import office_site

urlpatterns = [
    path("admin/", admin.site.urls),
    # The regional office: its own admin site, for regional officials only.
    path("office/", office_site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("elections.urls")),
]
