"""Security glue between accounts, roles and requests (docs/security.md says why).

- `OfficialSecurityMiddleware`: officials (secretaries, observers, regional
  officials, superusers) must have a second factor before Teller lets them do
  anything but vote, and their sessions end after a spell without activity.
- `ballot_rate_limit`: a cap on ballot form posts per person, answered with a 429 page.
- `BallotSafeExceptionReporterFilter`: error reports about a ballot request
  carry none of the posted form and none of the local variables.

It lives in `config`, not `accounts`, because it joins the user model to the
roles that `elections` keeps; neither app should import the other for this.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.debug import SafeExceptionReporterFilter
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

from elections.ballot_paper import RANK_PREFIX

if TYPE_CHECKING:
    from types import FrameType

log = logging.getLogger(__name__)

# The ballot pages: the only requests whose form says how someone voted.
BALLOT_URL_NAMES = frozenset({"ballot", "proxy_ballot"})

# What an official without a second factor may still reach: allauth's own
# pages (log in and out, password, and above all setting up the second factor)
# and their own ballot, so that setting up MFA never stands between an official
# who is also a councillor and their vote. Everything else, including any page
# added later, waits for the second factor: deny by default.
OPEN_WITHOUT_MFA_PREFIXES = ("account_", "mfa_")
OPEN_WITHOUT_MFA = BALLOT_URL_NAMES | {"receipt_check"}
# Pages whose posted form an error report must not show: the ballot, and the
# receipt check, whose code (beside the report's USER line) finds the person's
# ballot in the box.
SECRET_FORM_URL_NAMES = BALLOT_URL_NAMES | {"receipt_check"}

# The session key holding when an official was last seen (epoch seconds).
LAST_SEEN_KEY = "teller_official_last_seen"
# Writing the session on every request costs a database write each time; a
# minute's granularity is plenty for a half-hour idle limit.
LAST_SEEN_GRANULARITY = 60


@dataclass(frozen=True)
class OfficialStatus:
    official: bool
    # Has a TOTP authenticator or a security key. Recovery codes alone do not
    # count: allauth only issues them alongside one of the others.
    enrolled: bool


NOBODY = OfficialStatus(official=False, enrolled=False)


def official_status(user: Any) -> OfficialStatus:
    """Whether `user` holds any official role, and whether they have a second
    factor: one query, read fresh on every request so that a role granted or
    an authenticator removed takes effect at once."""
    if not user.is_authenticated:
        return NOBODY
    from allauth.mfa.models import Authenticator
    from django.contrib.auth import get_user_model

    from elections.models import Membership, RegionalOfficial

    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            holds_role=Exists(
                Membership.objects.active().filter(
                    user=OuterRef("pk"),
                    role__in=[Membership.Role.SECRETARY, Membership.Role.OBSERVER],
                )
            ),
            regional=Exists(RegionalOfficial.objects.filter(user=OuterRef("pk"))),
            enrolled=Exists(
                Authenticator.objects.filter(
                    user=OuterRef("pk"),
                    type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
                )
            ),
        )
        .values_list("holds_role", "regional", "enrolled")
        .first()
    )
    if row is None:
        return NOBODY
    holds_role, regional, enrolled = row
    return OfficialStatus(
        official=bool(user.is_superuser or holds_role or regional), enrolled=bool(enrolled)
    )


def _open_without_mfa(url_name: str | None) -> bool:
    if url_name is None:
        return False
    return url_name in OPEN_WITHOUT_MFA or url_name.startswith(OPEN_WITHOUT_MFA_PREFIXES)


class OfficialSecurityMiddleware:
    """For officials only: an idle timeout, then the second-factor gate.

    Members are left alone: they vote without MFA and their sessions follow
    Django's SESSION_COOKIE_AGE. Goes after AuthenticationMiddleware and
    MessageMiddleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        status = official_status(request.user)
        if not status.official:
            return None
        expired = self._idle_expired(request)
        if expired is not None:
            return expired
        match = request.resolver_match
        if (
            settings.TELLER_REQUIRE_MFA_FOR_ROLES
            and not status.enrolled
            and not _open_without_mfa(match.url_name if match else None)
        ):
            messages.warning(
                request,
                "Secretaries, observers and regional officials must set up two-factor "
                "sign-in (an authenticator app) before using Teller in their role. "
                "Scan the code below with your authenticator app to continue.",
            )
            return redirect("mfa_activate_totp")
        return None

    def _idle_expired(self, request: HttpRequest) -> HttpResponse | None:
        """Log an idle official out; otherwise note that they were seen.

        The session's own expiry is also set to the idle limit, so the session
        store drops an abandoned session server-side; the explicit check here
        holds whatever the session backend.
        """
        limit = settings.TELLER_OFFICIAL_IDLE_SECONDS
        now = int(time.time())
        last_seen = request.session.get(LAST_SEEN_KEY)
        if isinstance(last_seen, int) and now - last_seen > limit:
            logout(request)
            messages.info(
                request,
                f"You were signed out after {limit // 60} minutes without activity. "
                "Please sign in again.",
            )
            return redirect_to_login(request.get_full_path())
        if not isinstance(last_seen, int) or now - last_seen >= LAST_SEEN_GRANULARITY:
            request.session[LAST_SEEN_KEY] = now
            request.session.set_expiry(limit)
        return None


def ballot_rate_limit(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """At most TELLER_BALLOT_RATE ballot posts (mark, review, cast) per person.

    Per person, not per address: a room of councillors shares one address.
    django-ratelimit counts with the cache's atomic increment (Redis in
    production), so every worker process sees the same count. If the cache
    is down, posts go through unlimited, with a warning: a Redis outage must
    not stop voting (tests/faults/test_redis_outage.py).
    """

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            over = is_ratelimited(
                request,
                group="teller.ballot",
                key="user",
                rate=settings.TELLER_BALLOT_RATE,
                method="POST",
                increment=True,
            )
        except (RedisError, OSError) as error:
            # The cache is down or hung. A vote matters more than the limit:
            # let the post through unchecked (casting needs only the
            # database), and say so.
            log.warning("ballot rate limit unavailable, post not limited: %s", error)
            over = False
        if over:
            return too_many_requests(request)
        return view(request, *args, **kwargs)

    return limited


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """The 429 page (templates/429.html, which allauth's login limits render too)."""
    return render(request, "429.html", status=HTTPStatus.TOO_MANY_REQUESTS)


class BallotSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: nothing of a ballot request reaches an error report.

    The ballot view marks all its POST parameters sensitive, but only once its
    `post` method runs; a failure before that (a middleware, the dispatch) or
    an HTML report's frame variables (`choices` in the casting service) would
    still show the marked paper. So for the ballot URLs (and the receipt
    check, whose code finds a ballot) this hides every POST value, the names
    of a ranked paper's fields and every local variable, whatever the view did.
    """

    def _is_ballot(self, request: HttpRequest | None) -> bool:
        if request is None:
            return False
        match = getattr(request, "resolver_match", None)
        if match is None:
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return False
        return match.url_name in SECRET_FORM_URL_NAMES

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        if request is not None and self._is_ballot(request):
            # A ranked paper's field names are candidate ids ("rank-12"), and
            # only the ranked ones are posted: the names alone say whom the
            # voter ranked, so they go under one hidden entry.
            return {
                f"{RANK_PREFIX}…" if key.startswith(RANK_PREFIX) else key: self.cleansed_substitute
                for key in request.POST
            }
        return super().get_post_parameters(request)

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> Any:
        if self._is_ballot(request):
            return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
        return super().get_traceback_frame_variables(request, tb_frame)
