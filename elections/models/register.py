"""Voting in the room: paper counts entered by the secretary, countersigned
by an observer before the count is final.

Who voted in the room is a Participation with channel "in person", so the
same unique constraint stops anyone voting both in the room and online.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from elections.models.polls import Poll


class PaperCount(models.Model):
    """The paper votes for one choice in one poll."""

    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="paper_counts")
    # A candidate's id, "yes"/"no" on a yes/no poll, or "abstain" for blank papers.
    choice = models.CharField(max_length=20)
    votes = models.PositiveIntegerField()
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now_add=True)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "choice"], name="one_paper_count_per_choice"),
        ]

    def __str__(self) -> str:
        return f"{self.votes} paper votes for {self.choice} in {self.poll}"
