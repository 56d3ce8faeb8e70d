"""Forms for the secretary's pages and the receipt check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from elections.models import Candidate, Contest, RuleSet
from elections.services.receipts import looks_like_receipt


class ContestForm(forms.ModelForm):
    class Meta:
        model = Contest
        fields = ["title", "description"]


class RulesForm(forms.ModelForm):
    """The rules a secretary may choose while the contest is a draft."""

    class Meta:
        model = RuleSet
        fields = ["method", "seats", "abstention_allowed", "min_women", "quorum_percent"]


class CandidateForm(forms.ModelForm):
    class Meta:
        model = Candidate
        fields = ["name", "affiliation", "gender", "statement"]
        widgets = {
            "gender": forms.Select(
                choices=[("", "Not given"), ("woman", "Woman"), ("man", "Man"), ("other", "Other")]
            )
        }


class ScheduleForm(forms.Form):
    opens_at = forms.DateTimeField(
        label="Opens", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label="Closes", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    # A timetable a group could mean: not already over, not years away, not
    # a poll longer than a month (a typo in the year is caught here).
    MAX_AHEAD = timedelta(days=366)
    MAX_LENGTH = timedelta(days=31)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if not (opens and closes):
            return data
        now = timezone.now()
        if closes <= opens:
            self.add_error("closes_at", "The poll must close after it opens.")
        elif closes <= now:
            self.add_error("closes_at", "That closing time has already passed.")
        elif opens > now + self.MAX_AHEAD:
            self.add_error("opens_at", "A poll can be scheduled up to a year ahead.")
        elif closes - opens > self.MAX_LENGTH:
            self.add_error("closes_at", "A poll can stay open for a month at most.")
        return data


class ReceiptCheckForm(forms.Form):
    code = forms.CharField(
        label="Receipt code",
        max_length=40,
        help_text="The code you were shown after casting, e.g. 7K3M-Q9XD-2PAT-V4HN.",
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if not looks_like_receipt(code):
            raise forms.ValidationError(
                "That does not look like a receipt code: 16 letters and digits."
            )
        return code
