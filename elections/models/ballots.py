"""The secret ballot: that someone voted, and what was voted, kept apart.

`Participation` records that a person voted in a poll. `InboxBallot` holds
a cast ballot until the mixer moves it, shuffled and in a transaction of
its own, into the ballot box (`Ballot`). A Ballot has no voter, no time and
no sequential id, and never shares a PostgreSQL transaction id (`xmin`)
with a Participation. The tally reads only `Ballot`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from elections.models.polls import Poll


class VotingChannel(models.TextChoices):
    ONLINE = "online", "Online"
    IN_PERSON = "in_person", "In person (paper)"


class Participation(models.Model):
    # No index of its own: the unique (poll, voter) index serves every lookup
    # by poll, and every vote would pay to keep a second one.
    poll = models.ForeignKey(
        Poll, on_delete=models.PROTECT, related_name="participations", db_index=False
    )
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="participations"
    )
    channel = models.CharField(
        max_length=20, choices=VotingChannel.choices, default=VotingChannel.ONLINE
    )
    # Who pressed the button: the voter, or their approved proxy.
    cast_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "voter"], name="one_participation_per_voter"),
        ]

    def __str__(self) -> str:
        return f"{self.voter} voted in {self.poll}"


class InboxBallot(models.Model):
    """A ballot cast and not yet mixed. Empty once the poll is closed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="+")
    choices = models.JSONField()
    receipt_digest = models.CharField(max_length=64)

    def __str__(self) -> str:
        return "a ballot waiting to be mixed"


class Ballot(models.Model):
    """A ballot in the box: what was voted, and nothing about who or when."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="ballots")
    # Candidate ids in order of preference; ["yes"]/["no"] on a yes/no poll;
    # empty for a deliberate abstention.
    choices = models.JSONField()
    receipt_digest = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["poll", "receipt_digest"], name="receipt_unique_per_poll"
            ),
        ]

    def __str__(self) -> str:
        return "a ballot"
