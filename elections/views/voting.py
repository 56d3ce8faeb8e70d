"""The ballot: mark it, check it, cast it, keep the receipt.

The marked paper travels only in the voter's own form posts: it is not put
in the session, a cache or a log, and the receipt code is put into the page in
the response to the cast (never stored for a redirect), which is not cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views import View
from django.views.decorators.debug import sensitive_post_parameters

from config.security import ballot_rate_limit
from elections.ballot_paper import ABSTAIN, RANK_PREFIX, BallotPaper, PaperKind
from elections.exceptions import BallotRefused
from elections.models import Contest, Poll, ProxyAppointment
from elections.services.casting import (
    REFUSED_FOR_THE_POLL,
    can_vote,
    cast_marked_paper,
    cast_on_known_paper,
)
from elections.views.access import poll_for_voter
from elections.views.cache_headers import never_cached
from elections.views.receipt_page import receipt_response

if TYPE_CHECKING:
    from accounts.models import User


def _hidden_fields(paper: BallotPaper, choices: list[int | str]) -> list[tuple[str, str]]:
    """The marked paper as hidden inputs, to carry it through the confirmation."""
    fields = [("paper", paper.fingerprint)]
    if not choices:
        fields.append(("choice", ABSTAIN))
    elif paper.kind == PaperKind.RANKED:
        fields += [(f"{RANK_PREFIX}{cid}", str(n)) for n, cid in enumerate(choices, start=1)]
    else:
        fields += [("choice", str(c)) for c in choices]
    return fields


def _marked(paper: BallotPaper, choices: list[int | str]) -> dict[str, object]:
    """What the form shows as already marked when the voter goes back to change it."""
    if paper.kind == PaperKind.RANKED:
        return {"ranks": {cid: n for n, cid in enumerate(choices, start=1)}}
    return {"chosen": [str(c) for c in choices] or ([ABSTAIN] if choices == [] else [])}


class BallotView(View):
    """The ballot of the logged-in member, or with `principal`, the ballot
    they cast as that member's approved proxy: each its own ballot."""

    principal: User | None = None

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponse]:
        """The view with its decorators, applied once here: `method_decorator`
        applies them again to each request's bound method (0.01-0.02 ms a cast).
        Only the posts are rate-limited, and their fields kept out of error reports."""
        view = super().as_view(**initkwargs)
        return login_required(never_cached(sensitive_post_parameters()(ballot_rate_limit(view))))

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        self.principal = None

    def _voter(self, request: HttpRequest, poll: Poll, principal: int | None) -> User:
        if principal is None:
            return request.user  # type: ignore[return-value]
        # Only someone holding an appointment for this contest learns anything here.
        appointment = get_object_or_404(
            ProxyAppointment.objects.select_related("principal"),
            contest_id=poll.contest_id,
            principal_id=principal,
            proxy=request.user,
            status=ProxyAppointment.Status.APPROVED,
        )
        self.principal = appointment.principal
        return appointment.principal

    def get(self, request: HttpRequest, pk: int, principal: int | None = None) -> HttpResponse:
        poll = poll_for_voter(request, pk)
        voter = self._voter(request, poll, principal)
        return self._form_or_status(request, poll, voter)

    def post(self, request: HttpRequest, pk: int, principal: int | None = None) -> HttpResponse:
        action = request.POST.get("action", "review")
        if action == "cast" and principal is None:
            # Most votes of an election go this way: one statement, no read before it.
            quick = cast_on_known_paper(pk, request.user, request.POST)  # type: ignore[arg-type]
            if quick is not None:
                return self._receipt(request, quick.contest, quick.code)
        poll = poll_for_voter(request, pk)
        voter = self._voter(request, poll, principal)
        if action == "cast":
            return self._cast(request, poll, voter)
        allowed, reason = can_vote(poll, voter, proxy=self.principal and request.user)
        if not allowed:
            return self._status(request, poll, reason, status=409)
        paper = poll.ballot_paper()
        try:
            choices = paper.read(request.POST)
        except BallotRefused as refusal:
            return self._form(request, poll, paper, error=str(refusal), status=400)
        if action == "edit":
            return self._form(request, poll, paper, marked=_marked(paper, choices))
        if action == "review":
            return render(
                request,
                "elections/ballot_confirm.html",
                {
                    "poll": poll,
                    "contest": poll.contest,
                    "paper": paper,
                    "lines": paper.describe(choices),
                    "hidden": _hidden_fields(paper, choices),
                    "principal": self.principal,
                },
            )
        return self._form(request, poll, paper, error="Unknown action.", status=400)

    def _cast(self, request: HttpRequest, poll: Poll, voter: User) -> HttpResponse:
        """Cast the confirmed paper. Every check (the poll, the roll, the proxy,
        the paper) is made once, by the casting service: the busiest request of
        an election pays for no check twice."""
        try:
            code = cast_marked_paper(poll, voter, request.POST, cast_by=request.user)
        except BallotRefused as refusal:
            if refusal.code in REFUSED_FOR_THE_POLL:
                return self._status(request, poll, str(refusal), status=409)
            return self._form(request, poll, poll.ballot_paper(), error=str(refusal), status=400)
        return self._receipt(request, poll.contest, code)

    def _receipt(self, request: HttpRequest, contest: Contest, code: str) -> HttpResponse:
        return receipt_response(request, contest, code, principal=self.principal)

    def _form_or_status(self, request: HttpRequest, poll: Poll, voter: User) -> HttpResponse:
        allowed, reason = can_vote(poll, voter, proxy=self.principal and request.user)
        if not allowed:
            return self._status(request, poll, reason)
        return self._form(request, poll, poll.ballot_paper())

    def _form(
        self,
        request: HttpRequest,
        poll: Poll,
        paper: BallotPaper,
        *,
        error: str = "",
        marked: dict[str, object] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        return render(
            request,
            "elections/ballot_form.html",
            {
                "poll": poll,
                "contest": poll.contest,
                "paper": paper,
                "error": error,
                "rank_prefix": RANK_PREFIX,
                "abstain": ABSTAIN,
                "rank_range": range(1, len(paper.options) + 1),
                "principal": self.principal,
                **(marked or {}),
            },
            status=status,
        )

    def _status(
        self, request: HttpRequest, poll: Poll, reason: str, status: int = 200
    ) -> HttpResponse:
        return render(
            request,
            "elections/ballot_status.html",
            {
                "poll": poll,
                "contest": poll.contest,
                "reason": reason,
                "principal": self.principal,
            },
            status=status,
        )
