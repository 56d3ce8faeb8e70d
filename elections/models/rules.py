"""Rule sets: how a contest is run and counted.

A region keeps default rules; a contest gets its own copy, which is frozen
when nominations open. After that only a ruling may change it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from elections.exceptions import NotAllowed


class Method(models.TextChoices):
    PLURALITY = "plurality", "First past the post (block vote for several seats)"
    EXHAUSTIVE = "exhaustive", "Exhaustive ballot"
    AV = "av", "Alternative vote"
    STV = "stv", "Single transferable vote"
    YES_NO = "yes_no", "Yes / no"

    @property
    def is_ranked(self) -> bool:
        return self in (Method.AV, Method.STV)


class Channel(models.TextChoices):
    ONLINE = "online", "Online"
    IN_PERSON = "in_person", "In person"
    HYBRID = "hybrid", "Hybrid (online and in person)"


class TieBreak(models.TextChoices):
    LOOKBACK_THEN_LOT = "lookback_then_lot", "Earlier stages, then by lot"
    LOT = "lot", "By lot"


class Publication(models.TextChoices):
    FULL = "full", "Totals and the full count sheet"
    TOTALS = "totals", "Totals per candidate"
    ELECTED = "elected", "Only who was elected"


class StvRules(models.TextChoices):
    SCOTTISH = "scottish", "Scottish local government rules (2007)"
    ERS97 = "ers97", "ERS97"


class RuleSet(models.Model):
    """One set of rules. Frozen copies are immutable except through a ruling."""

    name = models.CharField(max_length=120)
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.PLURALITY)
    stv_rules = models.CharField(max_length=20, choices=StvRules.choices, default=StvRules.SCOTTISH)
    seats = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    proxy_allowed = models.BooleanField(default=False)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.ONLINE)
    quorum_percent = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="Share of the roll that must vote for the result to stand (0: none).",
    )
    show_affiliation = models.BooleanField("show candidates' affiliation or slate", default=False)
    nomination_threshold = models.PositiveSmallIntegerField(
        default=1, help_text="Nominators a candidate needs, besides themselves."
    )
    min_women = models.PositiveSmallIntegerField(default=0)
    ron_on_ballot = models.BooleanField("re-open nominations on the ballot", default=False)
    abstention_allowed = models.BooleanField(default=True)
    tie_break = models.CharField(
        max_length=30, choices=TieBreak.choices, default=TieBreak.LOOKBACK_THEN_LOT
    )
    publish = models.CharField(max_length=20, choices=Publication.choices, default=Publication.FULL)
    min_cell_size = models.PositiveSmallIntegerField(
        default=10, help_text="No breakdown by channel or subgroup is shown below this count."
    )
    reminder_hours_before_close = models.PositiveSmallIntegerField(default=4)
    round_length_hours = models.PositiveSmallIntegerField(default=24)
    round_gap_hours = models.PositiveSmallIntegerField(default=2)
    frozen_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Fields a copy carries over; everything but identity and the freeze.
    RULE_FIELDS = (
        "method", "stv_rules", "seats", "proxy_allowed", "channel", "quorum_percent",
        "nomination_threshold", "show_affiliation", "min_women", "ron_on_ballot",
        "abstention_allowed", "tie_break", "publish", "min_cell_size",
        "reminder_hours_before_close", "round_length_hours", "round_gap_hours",
    )  # fmt: skip
    # The rules a vote is cast under: the paper (method, seats, abstention) and
    # who may cast it how (channel, proxies). Casting checks them unchanged
    # since the voter's page read them, under the poll's lock.
    CASTING_FIELDS = ("method", "seats", "abstention_allowed", "channel", "proxy_allowed")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(seats__gte=1), name="ruleset_seats_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, amended_by_ruling: bool = False, **kwargs: Any) -> None:
        if self.pk and not amended_by_ruling:
            stored = RuleSet.objects.filter(pk=self.pk).values("frozen_at").first()
            if stored and stored["frozen_at"] is not None:
                raise NotAllowed("These rules are frozen; only a ruling can change them.")
        super().save(*args, **kwargs)

    def casting_values(self) -> tuple[Any, ...]:
        """The values of `CASTING_FIELDS`, in that order: what a vote is cast under."""
        return tuple(getattr(self, f) for f in self.CASTING_FIELDS)

    @property
    def online_voting(self) -> bool:
        """Whether a vote may be cast online (it may not in a contest held in the room)."""
        return self.channel != Channel.IN_PERSON

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None

    @property
    def method_choice(self) -> Method:
        return Method(self.method)

    def clean(self) -> None:
        if self.method in (Method.AV, Method.EXHAUSTIVE, Method.YES_NO) and self.seats != 1:
            raise ValidationError({"seats": "This method elects exactly one."})
        if self.min_women > self.seats:
            raise ValidationError({"min_women": "Cannot exceed the number of seats."})

    def as_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self.RULE_FIELDS}

    def copy(self, name: str | None = None) -> RuleSet:
        """An unfrozen, unsaved copy, for a contest or a re-run."""
        return RuleSet(name=name or self.name, **self.as_dict())

    def freeze(self) -> None:
        if self.frozen_at is None:
            self.frozen_at = timezone.now()
            RuleSet.objects.filter(pk=self.pk).update(frozen_at=self.frozen_at)
