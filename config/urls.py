"""Top-level URLs: accounts (allauth), the admin and the elections app."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("elections.urls")),
]
