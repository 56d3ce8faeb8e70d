"""Independent observers: invited by the secretary, they watch turnout and read the trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from accounts.models import User
from elections.exceptions import NotAllowed
from elections.models import AuditEvent, Body, Membership
from elections.models.notifications import NotificationKind
from elections.notifications import notify

if TYPE_CHECKING:
    from elections.models import Contest


def invite_observer(body: Body, *, by: User, email: str, name: str) -> Membership:
    """Give a person the observer role in a body, creating their account if
    needed, and send them an invitation to set a password."""
    is_secretary = Membership.objects.active().filter(
        body=body, user=by, role=Membership.Role.SECRETARY
    )
    if not (by.is_superuser or is_secretary.exists()):
        raise NotAllowed("Only the body's secretary can invite observers.")
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User.objects.create_user(email, None, full_name=name.strip())
        membership, created = Membership.objects.get_or_create(
            body=body, user=user, role=Membership.Role.OBSERVER, defaults={"active": True}
        )
        if not membership.active:
            membership.active = True
            membership.save(update_fields=["active"])
        AuditEvent.record(
            "observer.invited", actor=by, body=body, obj=membership,
            data={"observer": f"{user} <{user.email}>", "new_account": created},
        )  # fmt: skip
        notify(
            [user.pk], NotificationKind.INVITED, context={"body": body.name, "role": "observer"},
            dedupe=f"invited:observer:{body.pk}:{membership.pk}",
        )  # fmt: skip
    return membership


def turnout(contest: Contest) -> list[dict[str, object]]:
    """How many have voted in each poll, out of the roll: never what they chose.

    Only totals: a split by channel or ward would, in a small group, say
    too much about individuals.
    """
    rows = []
    for poll in contest.polls.order_by("number"):
        voted = poll.participations.count()
        rows.append({
            "poll": poll,
            "voted": voted,
            "roll": poll.roll_size,
            "percent": round(100 * voted / poll.roll_size, 1) if poll.roll_size else 0,
        })  # fmt: skip
    return rows
