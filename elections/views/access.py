"""Loading an object for a request and checking the person's role, in one place.

Outsiders (no role in the body) get 404, so they cannot even learn that a
contest exists; people in the body without the right role get 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from elections.models import Contest, Membership, Poll


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
    """The poll if the person is a voting member of its body.

    The ballot's every request starts here, so the poll, its contest and the
    person's membership come in one query rather than `contest_for`'s two.
    """
    user = request.user
    if not user.is_authenticated:
        raise Http404
    memberships = Membership.objects.active().filter(body=OuterRef("contest__body"), user=user)
    poll = get_object_or_404(
        Poll.objects.select_related("contest__rules", "contest__body").annotate(
            in_body=Exists(memberships),
            is_member=Exists(memberships.filter(role=Membership.Role.MEMBER)),
        ),
        pk=pk,
    )
    if not (poll.in_body or user.is_superuser):
        raise Http404
    if not poll.is_member:
        raise PermissionDenied
    return poll
