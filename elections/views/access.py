"""Loading an object for a request and checking the person's role, in one place.

Outsiders (no role in the body) get 404, so they cannot even learn that a
contest exists; people in the body without the right role get 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from config.prepared import PreparedQuery
from elections.models import Contest, Membership, Poll, RuleSet


def _roles(request: HttpRequest, body_id: int) -> set[str]:
    user = request.user
    if not user.is_authenticated:
        raise Http404
    roles = set(
        Membership.objects.active()
        .filter(body_id=body_id, user=user)
        .values_list("role", flat=True)
    )
    if user.is_superuser:
        roles.add(Membership.Role.SECRETARY)
    if not roles:
        raise Http404
    return roles


def contest_for(
    request: HttpRequest, pk: int, *, role: str | None = None
) -> tuple[Contest, set[str]]:
    """The contest if the person belongs to its body (in `role`, if given)."""
    contest = get_object_or_404(Contest.objects.select_related("rules", "body__region"), pk=pk)
    roles = _roles(request, contest.body_id)
    if role is not None and role not in roles:
        raise PermissionDenied
    return contest, roles


def poll_for_voter(request: HttpRequest, pk: int) -> Poll:
    """The poll if the person is a voting member of its body, with what the
    ballot pages read of its contest and rules.

    Every ballot cast starts here, so it is one statement compiled once.
    """
    user = request.user
    if not user.is_authenticated:
        raise Http404
    found = _POLL_FOR_PERSON.run(poll_id=pk, user_id=user.pk)
    if not found:
        raise Http404
    poll = found[0]
    if not (poll.person_in_body or user.is_superuser):
        raise Http404
    if not poll.person_is_member:
        raise PermissionDenied
    return poll


def _poll_for_person(poll_id: int, user_id: int) -> QuerySet[Poll]:
    memberships = Membership.objects.active().filter(
        body_id=OuterRef("contest__body_id"), user_id=user_id
    )
    # Not the count sheet: a counted poll's can be long, and no ballot page shows it.
    return (
        Poll.objects.filter(pk=poll_id)
        .defer("result")
        .order_by()
        .annotate(
            person_in_body=Exists(memberships),
            person_is_member=Exists(memberships.filter(role=Membership.Role.MEMBER)),
        )
    )


# The rest of the contest and its rules are deferred: reading them costs a query.
_POLL_FOR_PERSON = PreparedQuery(
    _poll_for_person,
    "poll_id",
    "user_id",
    related={
        "contest": ("body", "rules", "title", "state"),
        "contest__rules": RuleSet.CASTING_FIELDS,
    },
)
