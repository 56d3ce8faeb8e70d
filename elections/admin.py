"""The site admin's view of everything. Ballots are never shown here."""

from django.contrib import admin

from elections import models


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(models.Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(models.Body)
class BodyAdmin(admin.ModelAdmin):
    list_display = ["name", "region"]
    list_filter = ["region"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "body", "role", "ward", "active"]
    list_filter = ["role", "active", "body"]
    search_fields = ["user__email", "user__full_name"]
    raw_id_fields = ["user"]


@admin.register(models.RegionalOfficial)
class RegionalOfficialAdmin(admin.ModelAdmin):
    list_display = ["user", "region"]
    raw_id_fields = ["user"]


@admin.register(models.RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ["name", "method", "seats", "channel", "proxy_allowed", "frozen_at"]
    readonly_fields = ["frozen_at"]


class CandidateInline(admin.TabularInline):
    """A contest's candidates, to be changed only while `Contest.can_edit_candidates`
    allows it, as everywhere else: once the ballot paper is final, what voters were
    shown is what they voted on, and each web process keeps an opened poll's paper
    (`Poll.ballot_paper`)."""

    model = models.Candidate
    extra = 0
    raw_id_fields = ["user"]

    def _paper_final(self, contest: models.Contest | None) -> bool:
        return contest is not None and not contest.can_edit_candidates()

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not self._paper_final(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not self._paper_final(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return not self._paper_final(obj) and super().has_delete_permission(request, obj)


@admin.register(models.Contest)
class ContestAdmin(admin.ModelAdmin):
    list_display = ["title", "body", "state", "created_at"]
    list_filter = ["state", "body__region"]
    readonly_fields = ["state", "declared_at", "quashed_at", "rerun_of"]
    inlines = [CandidateInline]


@admin.register(models.Poll)
class PollAdmin(ReadOnlyAdmin):
    list_display = ["contest", "number", "status", "opens_at", "closes_at", "roll_size"]
    exclude = ["result"]


@admin.register(models.AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "actor_label", "action", "contest_id"]
    list_filter = ["action"]


@admin.register(models.Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "status", "attempts", "created_at", "sent_at"]
    list_filter = ["kind", "status"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
