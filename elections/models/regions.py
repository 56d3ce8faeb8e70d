"""Where contests happen and who belongs: regions, bodies and their people."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from elections.models.rules import RuleSet


class Region(models.Model):
    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(unique=True)
    default_rules = models.OneToOneField(
        RuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="region_default"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RegionalOfficial(models.Model):
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="officials")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="official_roles"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region", "user"], name="official_once_per_region"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.region})"


class Body(models.Model):
    """An electing body: a council group, a regional board."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="bodies")
    name = models.CharField(max_length=160)
    slug = models.SlugField(unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "bodies"

    def __str__(self) -> str:
        return self.name

    # Audiences for notifications, as id querysets so 130,000 never load as objects.
    def voter_ids(self) -> models.QuerySet:
        return Membership.objects.voting().filter(body=self).values_list("user_id", flat=True)

    def everyone_ids(self) -> models.QuerySet:
        return (
            Membership.objects.active()
            .filter(body=self)
            .values_list("user_id", flat=True)
            .distinct()
        )

    def secretary_ids(self) -> models.QuerySet:
        return (
            Membership.objects.active()
            .filter(body=self, role=Membership.Role.SECRETARY)
            .values_list("user_id", flat=True)
        )


class MembershipQuerySet(models.QuerySet["Membership"]):
    def active(self) -> MembershipQuerySet:
        return self.filter(active=True)

    def voting(self) -> MembershipQuerySet:
        return self.active().filter(role=Membership.Role.MEMBER)


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        SECRETARY = "secretary", "Secretary"
        OBSERVER = "observer", "Observer"

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    ward = models.CharField(max_length=120, blank=True)
    active = models.BooleanField(default=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["body", "user", "role"], name="membership_once_per_role"
            ),
        ]
        indexes = [models.Index(fields=["user", "active"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.body}"
