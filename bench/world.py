"""Building a benchmark's world quickly: a region, a body, many members, contests, sessions.

Runs inside a benchmark process after `common.setup_django`. Members are written with
bulk_create (no password worth checking: voters log in through sessions written here);
contests that are measured go through the real lifecycle (nominations, ballot, poll
opened by the model's own method, which freezes the roll and writes the notices).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.utils import timezone

from accounts.models import User
from elections.models import Body, Candidate, Contest, Membership, Method, Poll, Region, RuleSet

# An unusable password (Django's "!" prefix): nobody logs in with these accounts by password.
_NO_PASSWORD = "!bench"  # noqa: S105
_CSRF_CHARS = string.ascii_letters + string.digits
# What `login` would store: the first of the configured backends.
BACKEND = "config.security.ModelBackend"


@dataclass
class Voter:
    id: int
    email: str
    session_key: str
    csrf: str

    @property
    def cookies(self) -> dict[str, str]:
        return {
            settings.SESSION_COOKIE_NAME: self.session_key,
            settings.CSRF_COOKIE_NAME: self.csrf,
        }

    @property
    def form_token(self) -> str:
        """The token a page's `{% csrf_token %}` gives this voter: their secret, masked."""
        request = HttpRequest()
        request.META["CSRF_COOKIE"] = self.csrf
        return get_token(request)


def region_and_body(slug: str = "bench") -> tuple[Region, Body]:
    defaults = RuleSet.objects.create(name="Bench region defaults")
    region = Region.objects.create(name=f"Region {slug}", slug=slug, default_rules=defaults)
    body = Body.objects.create(region=region, name=f"Body {slug}", slug=f"{slug}-body")
    return region, body


def members(body: Body, n: int, *, prefix: str = "voter", batch: int = 5000) -> list[int]:
    """``n`` voting members of ``body``; returns their user ids in order."""
    ids: list[int] = []
    for start in range(0, n, batch):
        users = User.objects.bulk_create(
            [
                User(
                    email=f"{prefix}{i}@bench.example.org",
                    full_name=f"Councillor {i}",
                    password=_NO_PASSWORD,
                )
                for i in range(start, min(n, start + batch))
            ],
            batch_size=batch,
        )
        Membership.objects.bulk_create(
            [Membership(body=body, user_id=u.pk, ward=f"Ward {u.pk % 40}") for u in users],
            batch_size=batch,
        )
        ids += [u.pk for u in users]
    return ids


def sessions(user_ids: Sequence[int], *, batch: int = 5000) -> list[Voter]:
    """A logged-in session and a CSRF secret for each user, written straight to the table.

    This is what `django.contrib.auth.login` stores (the user, the backend and the hash
    that logs the session out when the password changes), without a request per voter.
    The CSRF cookie holds a 32-character secret that the form may send back unmasked.
    """
    store = SessionStore()
    expiry = timezone.now() + timedelta(days=1)
    voters: list[Voter] = []
    users = User.objects.filter(pk__in=list(user_ids)).only("pk", "email", "password")
    by_id = {u.pk: u for u in users.iterator(chunk_size=batch)}
    rows: list[Session] = []
    for user_id in user_ids:
        user = by_id[user_id]
        key = store._get_new_session_key()
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: BACKEND,
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expiry))
        csrf = "".join(secrets.choice(_CSRF_CHARS) for _ in range(32))
        voters.append(Voter(user.pk, user.email, key, csrf))
    Session.objects.bulk_create(rows, batch_size=batch)
    return voters


def open_contest(
    body: Body,
    *,
    title: str,
    method: str = Method.STV,
    seats: int = 3,
    candidates: int = 8,
    open_poll: bool = True,
) -> tuple[Contest, Poll]:
    """A contest taken through nominations to an open poll by the models' own transitions."""
    rules = RuleSet.objects.create(name=f"{title} rules", method=method, seats=seats)
    contest = Contest.objects.create(body=body, title=title, rules=rules)
    contest.open_nominations(by=None)
    for i in range(candidates):
        Candidate.add(contest, by=None, name=f"Candidate {i + 1} of {title}")
    contest.finalise_ballot(by=None)
    now = timezone.now()
    poll = contest.schedule_poll(
        by=None, opens_at=now - timedelta(minutes=1), closes_at=now + timedelta(hours=6)
    )
    if open_poll:
        poll.open(by=None)
    poll.refresh_from_db()
    contest.refresh_from_db()
    return contest, poll


def ranked_form(poll: Poll, voter: Voter, ranking: Sequence[int]) -> dict[str, Any]:
    """The cast form a browser posts after the confirmation page, for a ranked paper."""
    paper = poll.ballot_paper()
    data: dict[str, Any] = {
        "csrfmiddlewaretoken": voter.form_token,
        "paper": paper.fingerprint,
        "action": "cast",
    }
    for rank, candidate_id in enumerate(ranking, start=1):
        data[f"rank-{candidate_id}"] = str(rank)
    return data
