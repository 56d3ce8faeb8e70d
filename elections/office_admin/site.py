"""The regional office: an admin site of its own, for regional officials only.

Officials are not staff and hold no Django model permissions: the site
decides who gets in (a RegionalOfficial row, nothing else; a superuser who
is not an official is refused here and keeps the ordinary /admin/), and
each model admin scopes every queryset to the official's regions.
"""

from __future__ import annotations

from functools import update_wrapper
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, URLResolver, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from elections.models import AuditEvent, Complaint, ComplaintState, Contest, Region
from elections.models.rulings import official_region_ids

# Site-wide admin URLs the office does without: `view_on_site` resolves any
# object of any region by content type, and `autocomplete` serves widgets
# the office does not use; neither should be reachable.
_DROPPED_URLS = frozenset({"view_on_site", "autocomplete"})


class RegionalOfficeSite(admin.AdminSite):
    site_header = "Teller regional office"
    site_title = "Regional office"
    index_title = "Your region"
    index_template = "office/index.html"
    site_url = "/"
    enable_nav_sidebar = False

    # --- who gets in -------------------------------------------------------
    def region_ids(self, request: HttpRequest) -> set[int]:
        """The regions the requesting person is an official of, read once per request."""
        cached = getattr(request, "_office_region_ids", None)
        if cached is None:
            cached = official_region_ids(request.user)
            request._office_region_ids = cached  # type: ignore[attr-defined]
        return cached

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(self.region_ids(request))

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            # Signed in but not an official: a plain refusal. Sending them to
            # a login page would suggest another account might get them in.
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """One login for everyone (allauth's); the office only checks the role."""
        target = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            target = ""
        target = target or reverse("office:index", current_app=self.name)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(target)
            raise PermissionDenied
        return redirect_to_login(target, settings.LOGIN_URL)

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        # Passwords are allauth's business, with its own checks and notices.
        return HttpResponseRedirect(reverse("account_change_password"))

    def password_change_done(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        return HttpResponseRedirect(reverse("account_change_password"))

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [
            url for url in super().get_urls() if getattr(url, "name", None) not in _DROPPED_URLS
        ]

    # --- what they see -----------------------------------------------------
    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["office_regions"] = Region.objects.filter(pk__in=self.region_ids(request))
        return context

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        regions = self.region_ids(request)
        contests = Contest.objects.filter(body__region__in=regions)
        complaints = Complaint.objects.filter(contest__body__region__in=regions)
        extra = {
            "open_complaints": complaints.exclude(state=ComplaintState.DECIDED)
            .select_related("contest", "contest__body")
            .order_by("lodged_at")[:50],
            "contests_by_state": [
                (label, contests.filter(state=value).count(), value)
                for value, label in Contest.State.choices
            ],
            **(extra_context or {}),
        }
        return super().index(request, extra)


office_site = RegionalOfficeSite(name="office")


@receiver(user_logged_in, dispatch_uid="teller_official_login")
def record_official_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """Every login of a regional official goes into the audit trail (wherever they log in)."""
    regions = sorted(official_region_ids(user))
    if regions:
        AuditEvent.record("official.login", actor=user, data={"regions": regions})
