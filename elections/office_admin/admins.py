"""What the regional office shows and lets an official do.

Everything is read-only and scoped to the official's regions, except: the
region's default rules (change), complaints (take under review) and the
ruling views, each an object view with a confirmation page. Out-of-region
objects are refused with 403, not hidden behind the admin's "perhaps it
was deleted" redirect, so a wrong region is never mistaken for a typo.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from elections.exceptions import TellerError
from elections.models import (
    AuditEvent,
    Candidate,
    Complaint,
    Contest,
    RuleSet,
    Ruling,
    RulingKind,
)
from elections.office_admin.forms import RegionRulesForm, RulingForm
from elections.office_admin.record import contest_record
from elections.office_admin.site import office_site
from elections.services.rulings import issue_ruling, review_complaint

# What each ruling does, said on its confirmation page before it is issued.
CONSEQUENCES = {
    RulingKind.DISMISS: "The complaint is dismissed. The contest is not changed.",
    RulingKind.UPHOLD: "The result stands. The contest is not changed.",
    RulingKind.AMEND_RULES: (
        "The contest's frozen rules change as set below. If proxy votes are no longer "
        "allowed, every proxy appointment for this contest is voided."
    ),
    RulingKind.QUASH: (
        "The result is quashed: the contest is marked quashed and stays on record with its "
        "results. A poll that is still open is suspended and closed at once. Every member "
        "of the body is told."
    ),
    RulingKind.ORDER_RERUN: (
        "A new contest is created as a re-run of this quashed one, with the same standing "
        "candidates and the rules set below, frozen, its ballot paper final. Every member "
        "of the body is told."
    ),
    RulingKind.QUASH_AND_RERUN: (
        "The result is quashed (the contest stays on record, marked quashed; an open poll "
        "is suspended and closed) and a re-run is created with the same standing candidates "
        "and the rules set below. Every member of the body is told."
    ),
}


class OfficeModelAdmin(admin.ModelAdmin):
    """Read-only, scoped to the official's regions; no Django permissions used."""

    # The lookup from this model to its region, for scoping querysets.
    region_lookup = ""
    view_on_site = False
    actions: Any = ()

    def regions(self, request: HttpRequest) -> set[int]:
        return self.admin_site.region_ids(request)  # type: ignore[attr-defined]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.region_lookup}__in": self.regions(request)})
        )

    def in_scope(self, request: HttpRequest, obj: models.Model) -> bool:
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            try:
                elsewhere = self.model._default_manager.filter(pk=object_id).exists()
            except (ValueError, TypeError, ValidationError):
                elsewhere = False
            if elsewhere:
                raise PermissionDenied
        return obj

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.admin_site.has_permission(request):
            return False
        return obj is None or self.in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def object_or_404(self, request: HttpRequest, object_id: str) -> Any:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        return obj

    def page(
        self, request: HttpRequest, template: str, title: str, **context: Any
    ) -> TemplateResponse:
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                **context,
            },
        )


class CandidateInline(admin.TabularInline):
    model = Candidate
    fields = ["position", "name", "affiliation", "gender", "user", "withdrawn_at"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contest, site=office_site)
class ContestAdmin(OfficeModelAdmin):
    region_lookup = "body__region"
    list_display = ["title", "body", "state", "created_at", "quashed_at", "lineage"]
    list_filter = ["state", ("body", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "body__name"]
    list_select_related = ["body", "rerun_of"]
    fields = [
        "title",
        "body",
        "state",
        "description",
        "rules",
        "rerun_of",
        "created_at",
        "declared_at",
        "quashed_at",
    ]
    inlines = [CandidateInline]
    change_form_template = "office/contest_change_form.html"

    @admin.display(description="Re-run of / re-run")
    def lineage(self, contest: Contest) -> str:
        parts = []
        if contest.rerun_of_id:
            parts.append(f"re-run of #{contest.rerun_of_id}")
        rerun = Contest.objects.filter(rerun_of=contest).values_list("pk", flat=True).first()
        if rerun:
            parts.append(f"re-run #{rerun}")
        return "; ".join(parts) or "—"

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/ruling/<slug:kind>/",
                self.admin_site.admin_view(self.ruling_view),
                name="{}_{}_ruling".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        contest = self.object_or_404(request, object_id)
        extra = {
            **contest_record(contest),
            "ruling_options": [(kind, Ruling.can_offer(contest, kind)) for kind in RulingKind],
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def ruling_view(self, request: HttpRequest, object_id: str, kind: str) -> HttpResponse:
        contest: Contest = self.object_or_404(request, object_id)
        try:
            ruling_kind = RulingKind(kind)
        except ValueError:
            raise Http404 from None
        initial: dict[str, Any] = {}
        if request.method == "GET" and "complaint" in request.GET:
            # Not isdigit(): "²" passes it and int() refuses it (a 500).
            with contextlib.suppress(ValueError):
                initial["complaint"] = int(request.GET["complaint"])
        form = RulingForm(request.POST or None, contest=contest, kind=ruling_kind, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                issue_ruling(
                    contest,
                    by=request.user,  # type: ignore[arg-type]
                    kind=ruling_kind,
                    reason=form.cleaned_data["reason"],
                    complaint=form.cleaned_data.get("complaint"),
                    amendments=form.amendments(),
                    timetable=form.timetable(),
                    supersedes=form.cleaned_data.get("supersedes"),
                )
            except TellerError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Ruling issued: {ruling_kind.label.lower()}.")
                return HttpResponseRedirect(
                    reverse("office:elections_contest_change", args=[contest.pk])
                )
        contest.refresh_from_db()
        return self.page(
            request,
            "office/ruling_confirm.html",
            f"{ruling_kind.label}: {contest.title}",
            contest=contest,
            kind=ruling_kind,
            form=form,
            verdict=Ruling.can_offer(contest, ruling_kind),
            consequence=CONSEQUENCES[ruling_kind],
        )


@admin.register(Complaint, site=office_site)
class ComplaintAdmin(OfficeModelAdmin):
    region_lookup = "contest__body__region"
    list_display = ["__str__", "contest", "complainant", "state", "lodged_at", "ruling"]
    list_filter = ["state"]
    list_select_related = ["contest", "complainant", "ruling"]
    search_fields = ["text", "contest__title"]
    fields = ["contest", "complainant", "lodged_at", "state", "reviewed_at", "text", "ruling"]
    change_form_template = "office/complaint_change_form.html"
    actions = ["take_under_review"]

    def has_review_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    @admin.action(description="Take the selected complaints under review", permissions=["review"])
    def take_under_review(self, request: HttpRequest, queryset: models.QuerySet[Complaint]) -> None:
        done = 0
        for complaint in queryset.select_related("contest__body"):
            try:
                review_complaint(complaint, by=request.user)  # type: ignore[arg-type]
            except TellerError as error:
                messages.warning(request, f"{complaint}: {error}")
            else:
                done += 1
        if done:
            messages.success(request, f"{done} complaint(s) taken under review.")

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/review/",
                self.admin_site.admin_view(self.review_view),
                name="{}_{}_review".format(*info),
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        complaint: Complaint = self.object_or_404(request, object_id)
        extra = {
            **contest_record(complaint.contest),
            "complaint": complaint,
            "can_review": complaint.can_review(),
            "ruling_options": [
                (kind, Ruling.can_issue(complaint.contest, kind, complaint=complaint))
                for kind in RulingKind
            ],
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    def review_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        complaint: Complaint = self.object_or_404(request, object_id)
        verdict = complaint.can_review()
        if request.method == "POST":
            try:
                review_complaint(complaint, by=request.user)  # type: ignore[arg-type]
            except TellerError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "The complaint is under review.")
            return HttpResponseRedirect(
                reverse("office:elections_complaint_change", args=[complaint.pk])
            )
        return self.page(
            request,
            "office/complaint_review.html",
            f"Take {complaint} under review",
            complaint=complaint,
            verdict=verdict,
        )


@admin.register(Ruling, site=office_site)
class RulingAdmin(OfficeModelAdmin):
    region_lookup = "contest__body__region"
    list_display = ["__str__", "kind", "contest", "issued_at", "issued_by", "superseded"]
    list_filter = ["kind"]
    list_select_related = ["contest", "issued_by"]
    fields = [
        "contest",
        "kind",
        "reason",
        "complaint",
        "issued_by",
        "issued_at",
        "rerun",
        "supersedes",
        "changes",
    ]
    readonly_fields = ["changes"]

    @admin.display(boolean=True, description="Superseded")
    def superseded(self, ruling: Ruling) -> bool:
        return ruling.is_superseded

    @admin.display(description="Rules changed")
    def changes(self, ruling: Ruling) -> str:
        return "; ".join(f"{f}: {b} → {a}" for f, b, a in ruling.rule_changes()) or "—"


@admin.register(RuleSet, site=office_site)
class RuleSetAdmin(OfficeModelAdmin):
    """Region defaults can be changed here; a contest's rules only by a ruling."""

    form = RegionRulesForm
    list_display = ["name", "used_for", "method", "seats", "channel", "proxy_allowed", "frozen_at"]
    readonly_fields = ["frozen_at"]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[RuleSet]:
        regions = self.regions(request)
        return (
            RuleSet.objects.filter(
                Q(region_default__in=regions) | Q(contest__body__region__in=regions)
            )
            .select_related("region_default", "contest")
            .distinct()
        )

    def is_region_default(self, request: HttpRequest, rules: RuleSet) -> bool:
        return RuleSet.objects.filter(
            pk=rules.pk, region_default__in=self.regions(request), frozen_at__isnull=True
        ).exists()

    @admin.display(description="Used for")
    def used_for(self, rules: RuleSet) -> str:
        region = getattr(rules, "region_default", None)
        if region is not None:
            return format_html("Defaults of {}", region)
        contest = getattr(rules, "contest", None)
        return format_html("Contest: {}", contest) if contest is not None else "—"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.admin_site.has_permission(request):
            return False
        # A contest's copy is refused here even before it is frozen: the
        # secretary sets a draft's rules, and after that only a ruling does.
        return obj is None or self.is_region_default(request, obj)

    def save_model(self, request: HttpRequest, obj: RuleSet, form: Any, change: bool) -> None:
        if not self.is_region_default(request, obj):
            raise PermissionDenied
        before = RuleSet.objects.get(pk=obj.pk).as_dict()
        with transaction.atomic():
            obj.save()
            region = obj.region_default
            AuditEvent.record(
                "region.rules_changed",
                actor=request.user,
                obj=obj,
                data={
                    "region": region.pk,
                    "changes": {
                        field: [before[field], after]
                        for field, after in obj.as_dict().items()
                        if before[field] != after
                    },
                },
            )
