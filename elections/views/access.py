"""Loading an object for a request and checking the person's role, in one place.

Outsiders (no role in the body) get 404, so they cannot even learn that a
contest exists; people in the body without the right role get 403.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
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
    """The poll if the person is a voting member of its body."""
    poll = get_object_or_404(Poll.objects.select_related("contest__rules", "contest__body"), pk=pk)
    roles = _roles(request, poll.contest.body_id)
    if Membership.Role.MEMBER not in roles:
        raise PermissionDenied
    return poll
