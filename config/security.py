"""Security glue between accounts, roles and requests (docs/security.md says why).

- `ModelBackend`, `AllauthBackend`: load the request's user together with what
  every page asks of them (roles, second factor, unread notices), one query.
- `OfficialSecurityMiddleware`: officials (secretaries, observers, regional
  officials, superusers) must have a second factor before Teller lets them do
  anything but vote, and their sessions end after a spell without activity.
- `ballot_rate_limit`: a cap on ballot form posts per person (every post but the
  one that casts their vote), answered with a 429 page.
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

from allauth.account import auth_backends as allauth_backends
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import backends as auth_backends
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.debug import SafeExceptionReporterFilter
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from config.prepared import PreparedQuery
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


def with_request_status(users: QuerySet[Any]) -> QuerySet[Any]:
    """`users` annotated with what every page asks of the person making the request.

    Whether they hold an official role, have a second factor, sit in a regional
    office, and how many notices they have not read: read in the same query that
    loads the user for the request (`RequestStatusMixin.get_user`), so they are
    fresh on every request and cost no round trip of their own.
    """
    from allauth.mfa.models import Authenticator

    from elections.models import Membership, Notification, RegionalOfficial

    unread = (
        Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return users.annotate(
        teller_holds_role=Exists(
            Membership.objects.active().filter(
                user=OuterRef("pk"),
                role__in=[Membership.Role.SECRETARY, Membership.Role.OBSERVER],
            )
        ),
        teller_regional=Exists(RegionalOfficial.objects.filter(user=OuterRef("pk"))),
        teller_enrolled=Exists(
            Authenticator.objects.filter(
                user=OuterRef("pk"),
                type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN],
            )
        ),
        teller_unread=Coalesce(Subquery(unread), 0),
    )


def _user_with_status(user_id: int) -> QuerySet[Any]:
    from django.contrib.auth import get_user_model

    return with_request_status(get_user_model()._default_manager.filter(pk=user_id).order_by())


# Every request runs this; compiled once, it costs a tenth of building it each time.
_USER_WITH_STATUS = PreparedQuery(_user_with_status, "user_id")


def _loaded_with_status(user: Any) -> Any:
    """`user` with the request-status annotations: as it is if it has them (it was
    loaded for this request), otherwise read again (a user made or fetched elsewhere)."""
    if hasattr(user, "teller_regional"):
        return user
    fresh = next(iter(_USER_WITH_STATUS.run(user_id=user.pk)), None)
    if fresh is None:
        return None
    for name in _STATUS_FIELDS:
        setattr(user, name, getattr(fresh, name))
    return user


_STATUS_FIELDS = ("teller_holds_role", "teller_regional", "teller_enrolled", "teller_unread")


def official_status(user: Any) -> OfficialStatus:
    """Whether `user` holds any official role, and whether they have a second
    factor, as of this request, so that a role granted or an authenticator
    removed takes effect at once."""
    if not user.is_authenticated:
        return NOBODY
    loaded = _loaded_with_status(user)
    if loaded is None:
        return NOBODY
    return OfficialStatus(
        official=bool(user.is_superuser or loaded.teller_holds_role or loaded.teller_regional),
        enrolled=bool(loaded.teller_enrolled),
    )


def is_regional_official(user: Any) -> bool:
    """Whether `user` sits in a regional office, as of this request."""
    loaded = _loaded_with_status(user) if user.is_authenticated else None
    return bool(loaded is not None and loaded.teller_regional)


class RequestStatusMixin:
    """An authentication backend whose `get_user` (what loads `request.user` from
    the session) also reads `with_request_status`: a page's role, second-factor
    and nav checks then cost no query of their own."""

    def get_user(self, user_id: Any) -> Any:
        found = list(_USER_WITH_STATUS.run(user_id=int(user_id)))
        if not found:
            return None
        user = found[0]
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]


class ModelBackend(RequestStatusMixin, auth_backends.ModelBackend):
    """Django's backend (the admin's log-in), loading the request's user as above."""


class AllauthBackend(RequestStatusMixin, allauth_backends.AuthenticationBackend):
    """allauth's backend (email log-in), loading the request's user as above."""


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


# The session remembers, until then, that its person is over the ballot limit:
# a post from a session held back is turned away without asking the cache.
BALLOT_HELD_BACK_KEY = "teller_ballot_held_back_until"


def ballot_rate_limit(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """At most TELLER_BALLOT_RATE ballot posts per person, not counting the one
    that casts their vote: a vote is cast once whatever is posted, and the busiest
    request of an election should not wait on the cache for a limit it cannot break.

    Every other post counts: marking, reviewing, and a cast that is refused (a
    second vote, a stale paper), which is what a script hammering the casting
    statement sends. A mark or review is counted before it is answered, a cast
    once it has been refused. Over the limit, the answer is the 429 page, and the
    session is held back until the limit's window ends, so that the person's
    further posts from it are turned away at once, before any cast is tried.

    Per person, not per address: a room of councillors shares one address.
    django-ratelimit counts with the cache's atomic increment (Redis in
    production), so every worker process sees the same count. If the cache
    is down, posts go through unlimited, with a warning: a Redis outage must
    not stop voting (tests/faults/test_redis_outage.py).

    It wraps the whole ballot view; other methods than POST pass untouched.
    """

    @wraps(view)
    def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if _held_back(request):
            return too_many_requests(request)
        if request.POST.get("action") != "cast":
            if _count_ballot_post(request):
                return too_many_requests(request)
            return view(request, *args, **kwargs)
        response = view(request, *args, **kwargs)
        # A cast answers 200 only with its receipt; a refusal is a 400 or a 409.
        if response.status_code != HTTPStatus.OK and _count_ballot_post(request):
            return too_many_requests(request)
        return response

    return limited


def _held_back(request: HttpRequest) -> bool:
    until = request.session.get(BALLOT_HELD_BACK_KEY)
    if until is None:
        return False
    if until > time.time():
        return True
    del request.session[BALLOT_HELD_BACK_KEY]
    return False


def _count_ballot_post(request: HttpRequest) -> bool:
    """Count one ballot post against its person; whether that took them over
    the limit (and if so, hold their session back)."""
    try:
        usage = get_usage(
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
        return False
    if usage is None or not usage["should_limit"]:
        return False
    request.session[BALLOT_HELD_BACK_KEY] = int(time.time()) + max(usage["time_left"], 1)
    return True


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
