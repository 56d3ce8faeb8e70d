"""The office's forms: a ruling with its reason, and a region's default rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from elections.models import (
    Channel,
    Complaint,
    ComplaintState,
    Contest,
    RuleSet,
    Ruling,
    RulingKind,
)

# What a re-run is ordered with unless the official says otherwise: the case
# that brings most re-runs is a disputed room vote with proxies.
RERUN_DEFAULTS: dict[str, Any] = {"channel": Channel.ONLINE, "proxy_allowed": False}


class RulingForm(forms.Form):
    """One ruling on one contest. The reason is required and made public."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text="Written reasons are published to the body's members with the ruling.",
    )
    complaint = forms.ModelChoiceField(
        queryset=Complaint.objects.none(),
        required=False,
        label="In answer to the complaint",
    )
    supersedes = forms.ModelChoiceField(
        queryset=Ruling.objects.none(),
        required=False,
        label="Supersedes the earlier ruling",
        help_text="The earlier ruling stays on record, marked as superseded.",
    )

    def __init__(self, *args: Any, contest: Contest, kind: RulingKind, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contest = contest
        self.kind = kind
        complaints = Complaint.objects.filter(contest=contest).exclude(state=ComplaintState.DECIDED)
        complaint_field = self.fields["complaint"]
        assert isinstance(complaint_field, forms.ModelChoiceField)
        complaint_field.queryset = complaints.select_related("complainant")
        complaint_field.required = kind == RulingKind.DISMISS
        supersedes_field = self.fields["supersedes"]
        assert isinstance(supersedes_field, forms.ModelChoiceField)
        supersedes_field.queryset = Ruling.objects.filter(contest=contest).in_force()

        self.base_rules = contest.rules.as_dict()
        if kind.takes_amendments:
            start = dict(self.base_rules)
            if kind.orders_rerun:
                start.update(RERUN_DEFAULTS)
            for field in RuleSet.RULE_FIELDS:
                formfield = RuleSet._meta.get_field(field).formfield()
                formfield.initial = start[field]
                self.fields[f"rule_{field}"] = formfield
        if kind.orders_rerun:
            widget = forms.DateTimeInput(attrs={"type": "datetime-local"})
            self.fields["opens_at"] = forms.DateTimeField(
                label="Re-run poll opens", required=False, widget=widget
            )
            self.fields["closes_at"] = forms.DateTimeField(
                label="Re-run poll closes",
                required=False,
                widget=widget,
                help_text="Leave both empty to let the secretary schedule the poll.",
            )

    def rule_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("rule_")]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give the reason for the ruling.")
        return reason

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens_at, closes_at = data.get("opens_at"), data.get("closes_at")
        if (opens_at is None) != (closes_at is None):
            self.add_error("closes_at", "Give both the opening and the closing time, or neither.")
        elif opens_at and closes_at:
            if closes_at <= opens_at:
                self.add_error("closes_at", "The poll must close after it opens.")
            elif closes_at <= timezone.now():
                self.add_error("closes_at", "The closing time has already passed.")
        return data

    def amendments(self) -> dict[str, Any]:
        """The rules that differ from the contest's, as the ruling will change them."""
        if not self.kind.takes_amendments:
            return {}
        changed = {}
        for field in RuleSet.RULE_FIELDS:
            value = self.cleaned_data.get(f"rule_{field}")
            if value is not None and value != self.base_rules[field]:
                changed[field] = value
        return changed

    def timetable(self) -> tuple[datetime, datetime] | None:
        opens_at, closes_at = self.cleaned_data.get("opens_at"), self.cleaned_data.get("closes_at")
        if opens_at and closes_at:
            return opens_at, closes_at
        return None


class RegionRulesForm(forms.ModelForm):
    """A region's default rules; contests copy them when they are created."""

    class Meta:
        model = RuleSet
        fields = ["name", *RuleSet.RULE_FIELDS]
