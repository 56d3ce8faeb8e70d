"""Every URL the project defines, for every role: who may do what.

The URLs come from the resolver itself (the elections app, the regional
office at /office/, the Django admin and allauth), so a URL added later
cannot slip past: a pattern the table below does not name fails the walk,
naming it. For each URL, each role gets a GET, and a POST where the view
takes one (with a body that would succeed for someone allowed), and the
answer must be what the table says:

- allowed: 200, or a redirect that is not to a login page;
- refused by the rules: the same, but nothing in the database changes
  (e.g. a candidate nominating herself: the view answers, the model refuses);
- forbidden: 403 (in the admin sites, also a redirect that ends in a 403);
- hidden: 404, for people with no role in the body (it is not theirs to know);
- login: anonymous visitors are sent, in the end, to the login page;
- not allowed: 405, a GET of a view that only takes POST.

Every answer other than "allowed" must leave the database as it was: no
INSERT, UPDATE or DELETE on any table but the session's, and the same row
count in every table (and, after a POST, the same rows). Each request runs in
a savepoint that is rolled back, so every request meets the same world.
Pages shown to someone outside Ashby and its region must not name Ashby or
any of its contests. Failures are listed together: method, path, role,
status, what was expected.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from elections.models import RuleSet, RulingKind
from tests.security_walk.helpers import NOT_IN_BODY, ROLES, World, rolled_back, snapshot


# --- What the resolver defines ----------------------------------------------
@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or "<unnamed> full/route/" for a pattern without a name
    route: str  # the full route, every prefix joined


def _walk(resolver: URLResolver, prefix: str, namespaces: list[str]) -> Iterator[Pattern]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = [*namespaces, entry.namespace] if entry.namespace else namespaces
            yield from _walk(entry, prefix + str(entry.pattern), inner)
        else:
            assert isinstance(entry, URLPattern)
            route = prefix + str(entry.pattern)
            key = ":".join([*namespaces, entry.name]) if entry.name else f"<unnamed> {route}"
            yield Pattern(key, route)


def url_patterns() -> list[Pattern]:
    return list(_walk(get_resolver(), "", []))


_PARAMETER = re.compile(r"<(?:\w+:)?(?P<a>\w+)>|\(\?P<(?P<b>\w+)>[^)]*\)")


def _fill(route: str, values: dict[str, Any]) -> str:
    """A path for an unnamed pattern, which reverse() cannot build."""
    filled = _PARAMETER.sub(lambda m: str(values[m.group("a") or m.group("b")]), route)
    return "/" + filled.replace("^", "").replace("$", "")


# --- The vocabulary of the table --------------------------------------------
class Outcome(Enum):
    OK = "allowed"
    DONE = "allowed, and it wrote"
    NOOP = "refused by the rules, nothing changed"
    FORBIDDEN = "403"
    HIDDEN = "404"
    LOGIN = "sent to log in"
    NOT_ALLOWED = "405"
    ANSWERED = "answered (allauth: 200, 404, or a redirect not to log in)"


@dataclass(frozen=True)
class Case:
    """One way of filling a pattern's parameters, and what a POST to it carries."""

    label: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    data: Callable[[World], dict[str, Any]] | None = None


Rule = Callable[[str, Case], Outcome]
Cases = Callable[[World], list[Case]]


@dataclass(frozen=True)
class Row:
    cases: Cases
    get: Rule
    post: Rule | None = None  # None: the view takes no POST
    data: Callable[[World], dict[str, Any]] | None = None  # the POST body, unless the case has one
    # Statuses that count as "allowed" besides 200 and a redirect (a ballot
    # answers a refused paper with 400 and a refused vote with 409).
    also_ok: frozenset[int] = frozenset()
    # The admin sites answer some refusals with a redirect to their own
    # login page, which then refuses: follow it.
    follow_refusals: bool = False


def _anon_login(rule: Callable[[str, Case], Outcome]) -> Rule:
    def wrapped(role: str, case: Case) -> Outcome:
        return Outcome.LOGIN if role == "anonymous" else rule(role, case)

    return wrapped


MEMBERS = ("member", "candidate")
IN_BODY = ("member", "candidate", "secretary", "observer")


def body(*allowed: str, noop: tuple[str, ...] = (), hidden: tuple[str, ...] = ()) -> Rule:
    """A page of the Ashby group: outsiders get 404, the body's people without
    the role 403; `noop` roles reach it but the model refuses what they ask."""

    def rule(role: str, case: Case) -> Outcome:
        if role in NOT_IN_BODY or role in hidden:
            return Outcome.HIDDEN
        if role in allowed:
            return Outcome.OK
        if role in noop:
            return Outcome.NOOP
        return Outcome.FORBIDDEN

    return _anon_login(rule)


def done(rule: Rule) -> Rule:
    """The allowed roles' POST does what it asks (it writes): the body the
    table posts is a real one, so a refusal of everyone else means something."""

    def wrapped(role: str, case: Case) -> Outcome:
        outcome = rule(role, case)
        return Outcome.DONE if outcome is Outcome.OK else outcome

    return wrapped


def by_case(**rules: Rule) -> Rule:
    """A different rule for each case, by its label."""
    return lambda role, case: rules[case.label](role, case)


def everyone(role: str, case: Case) -> Outcome:
    return Outcome.LOGIN if role == "anonymous" else Outcome.OK


def post_only(role: str, case: Case) -> Outcome:
    return Outcome.LOGIN if role == "anonymous" else Outcome.NOT_ALLOWED


def office(official: Outcome, other: Outcome | None = None) -> Rule:
    """The regional office: officials only; `other` is the official of another region."""

    def rule(role: str, case: Case) -> Outcome:
        if role == "official":
            return official
        if role == "other_official":
            return official if other is None else other
        return Outcome.FORBIDDEN

    return _anon_login(rule)


def admin_site(role: str, case: Case) -> Outcome:
    # Nobody in the cast is staff: the admin is for site admins only.
    return Outcome.LOGIN if role == "anonymous" else Outcome.FORBIDDEN


def allauth_public(role: str, case: Case) -> Outcome:
    return Outcome.ANSWERED


def allauth_private(role: str, case: Case) -> Outcome:
    return Outcome.LOGIN if role == "anonymous" else Outcome.ANSWERED


# --- Filling parameters -----------------------------------------------------
def one(data: Callable[[World], dict[str, Any]] | None = None) -> Cases:
    return lambda w: [Case("-", {}, data)]


def contests(*names: str) -> Cases:
    return lambda w: [Case(n, {"pk": w.contests[n].pk}) for n in names]


def polls(*names: str) -> Cases:
    return lambda w: [Case(n, {"pk": w.poll(n).pk}) for n in names]


def the_body(w: World) -> list[Case]:
    return [Case("ashby", {"pk": w.body.pk})]


def _cand(w: World, contest: str, name: str) -> int:
    return w.candidate(contest, name).pk


def _ballot_data(contest: str) -> Callable[[World], dict[str, Any]]:
    """A paper that would be cast for Ann Archer (first preference, if ranked)."""

    def data(w: World) -> dict[str, Any]:
        ann = _cand(w, contest, "Ann Archer")
        if contest == "ranked":
            return {f"rank-{ann}": "1", "action": "cast"}
        return {"choice": str(ann), "action": "cast"}

    return data


def ballot_cases(w: World) -> list[Case]:
    return [
        Case(n, {"pk": w.poll(n).pk}, _ballot_data(n))
        for n in ("polling", "ranked", "in_room", "quashed")
    ]


def proxy_ballot_cases(w: World) -> list[Case]:
    poll = w.poll("polling").pk
    return [
        # alice holds dave's proxy; nobody holds bob's.
        Case("held", {"pk": poll, "principal": w.people["dave"].pk}, _ballot_data("polling")),
        Case("not_held", {"pk": poll, "principal": w.people["bob"].pk}, _ballot_data("polling")),
    ]


def proxy_decide_cases(w: World) -> list[Case]:
    pending, approved = w.objects["proxy_pending"].pk, w.objects["proxy_approved"].pk
    return [
        Case("pending", {"pk": pending, "decision": "approve"}),
        Case("pending", {"pk": pending, "decision": "refuse"}),
        Case("decided", {"pk": approved, "decision": "refuse"}),
    ]


def standing_cases(w: World) -> list[Case]:
    return [
        Case("standing", {"pk": w.objects["standing"].pk}),
        # cara on the polling contest's paper: final, nobody withdraws now.
        Case("final", {"pk": _cand(w, "polling", "Cara Candidate")}),
    ]


_NATURAL_CONTEST = {
    "open-nominations": "draft",
    "finalise": "nominations",
    "open-poll": "rerun",
    "close-poll": "polling",
    "count": "paper",
    "declare": "counted",
}


def transition_cases(w: World) -> list[Case]:
    cases = [
        Case(action, {"pk": w.contests[contest].pk, "action": action})
        for action, contest in _NATURAL_CONTEST.items()
    ]
    return [*cases, Case("unknown", {"pk": w.contests["polling"].pk, "action": "explode"})]


def _paper_counts(w: World) -> dict[str, Any]:
    ids = {c.name: c.pk for c in w.contests["paper"].candidates.all()}
    return {
        f"votes-{ids['Ann Archer']}": "2",
        f"votes-{ids['Cara Candidate']}": "0",
        "votes-abstain": "0",
    }


def _roll_file(w: World) -> dict[str, Any]:
    rows = "name,email,ward\nNew Person,new.person@example.org,East\n"
    return {"file": SimpleUploadedFile("roll.csv", rows.encode(), content_type="text/csv")}


def _new_contest(w: World) -> dict[str, Any]:
    return {
        "contest-title": "Ashby press officer 2026",
        "contest-description": "",
        "rules-method": "plurality",
        "rules-seats": "1",
        "rules-abstention_allowed": "on",
        "rules-min_women": "0",
        "rules-quorum_percent": "0",
    }


def _schedule(w: World) -> dict[str, Any]:
    opens = timezone.localtime() + timedelta(days=10)
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "opens_at": opens.strftime(fmt),
        "closes_at": (opens + timedelta(hours=8)).strftime(fmt),
    }


# --- The office -------------------------------------------------------------
def rule_fields(rules: RuleSet) -> dict[str, Any]:
    """A ruling form's rule fields as a browser posts them (an unticked box is left out)."""
    data: dict[str, Any] = {}
    for name, value in rules.as_dict().items():
        if isinstance(value, bool):
            if value:
                data[f"rule_{name}"] = "on"
        else:
            data[f"rule_{name}"] = value
    return data


def _ruling_data(contest: str) -> Callable[[World], dict[str, Any]]:
    def data(w: World) -> dict[str, Any]:
        return {
            "reason": "Ruled on the written record.",
            "complaint": w.objects["complaint_open"].pk if contest == "counted" else "",
            **rule_fields(w.contests[contest].rules),
        }

    return data


def ruling_cases(w: World) -> list[Case]:
    return [
        Case(name, {"object_id": w.contests[name].pk, "kind": kind.value}, _ruling_data(name))
        for name in ("polling", "counted", "quashed")
        for kind in RulingKind
    ]


def _office_objects(w: World) -> dict[str, list[tuple[str, int]]]:
    return {
        "contest": [("contest", w.contests["quashed"].pk)],
        "complaint": [("complaint", w.objects["complaint_open"].pk)],
        "ruling": [("ruling", w.objects["ruling"].pk)],
        "ruleset": [
            ("region_default", w.region.default_rules_id or 0),
            ("contest_rules", w.contests["polling"].rules_id),
        ],
    }


_OFFICE_MODEL = re.compile(
    r"^office:elections_(?P<model>contest|complaint|ruling|ruleset)_"
    r"(?P<action>changelist|add|history|delete|change)$"
)
_OFFICE_UNNAMED_OBJECT = re.compile(
    r"^<unnamed> office/elections/(?P<model>contest|complaint|ruling|ruleset)/<path:object_id>/$"
)


def _region_rules_data(w: World) -> dict[str, Any]:
    rules = w.region.default_rules
    assert rules is not None
    data = {k.removeprefix("rule_"): v for k, v in rule_fields(rules).items()}
    return {"name": rules.name, **data}


def office_model_row(key: str) -> Row:
    match = _OFFICE_MODEL.match(key)
    assert match is not None
    model, action = match["model"], match["action"]

    def cases(w: World) -> list[Case]:
        if action in ("changelist", "add"):
            if model == "complaint" and action == "changelist":
                # The office's one list action: take complaints under review.
                return [Case("list", {}, lambda w: {
                    "action": "take_under_review",
                    "_selected_action": [w.objects["complaint_open"].pk],
                })]  # fmt: skip
            return [Case("list")]
        data = _region_rules_data if model == "ruleset" else None
        return [Case(label, {"object_id": pk}, data) for label, pk in _office_objects(w)[model]]

    if action == "changelist":
        # otto's list holds none of Testshire's complaints: his action is a no-op.
        post_rule = (
            office(Outcome.DONE, Outcome.NOOP) if model == "complaint" else office(Outcome.OK)
        )
        return Row(cases, get=office(Outcome.OK), post=post_rule)
    if action in ("add", "delete"):
        # Nothing is added or deleted in the office, by anyone.
        return Row(cases, get=office(Outcome.FORBIDDEN), post=office(Outcome.FORBIDDEN))
    if action == "history":
        return Row(cases, get=office(Outcome.OK, Outcome.FORBIDDEN))

    # change: every object is read-only but the region's default rules.
    def change_post(role: str, case: Case) -> Outcome:
        official = Outcome.DONE if case.label == "region_default" else Outcome.FORBIDDEN
        return office(official, Outcome.FORBIDDEN)(role, case)

    return Row(cases, get=office(Outcome.OK, Outcome.FORBIDDEN), post=change_post)


def office_object_redirect_row(key: str) -> Row:
    match = _OFFICE_UNNAMED_OBJECT.match(key)
    assert match is not None

    def cases(w: World) -> list[Case]:
        return [Case(label, {"object_id": pk}) for label, pk in _office_objects(w)[match["model"]]]

    # A redirect to the change page, which refuses the other region's official.
    return Row(cases, get=office(Outcome.OK, Outcome.FORBIDDEN), follow_refusals=True)


# --- The Django admin -------------------------------------------------------
_ADMIN_MODEL = re.compile(
    r"^admin:(?P<label>\w+?)_(?P<model>[a-z0-9]+)_(changelist|add|history|delete|change)$"
)
_ADMIN_UNNAMED_OBJECT = re.compile(r"^<unnamed> admin/\w+/\w+/<path:object_id>/$")


def _any_pk(label: str, model: str) -> Any:
    try:
        found = apps.get_model(label, model)._base_manager.values_list("pk", flat=True).first()
    except LookupError:
        found = None
    return found if found is not None else 1


def admin_model_row(key: str) -> Row:
    match = _ADMIN_MODEL.match(key)
    assert match is not None
    label, model = match["label"], match["model"]

    def cases(w: World) -> list[Case]:
        if key.endswith(("_changelist", "_add")):
            return [Case("-")]
        return [Case("-", {"object_id": _any_pk(label, model)})]

    # Every admin page sits behind the same gate; POSTs are tried where they
    # would write (add, change, delete), to keep the walk's time in bounds.
    writes = key.endswith(("_add", "_change", "_delete"))
    return Row(cases, get=admin_site, post=admin_site if writes else None, follow_refusals=True)


def admin_row(cases: Cases | None = None, *, post: bool = True) -> Row:
    return Row(
        cases or one(), get=admin_site, post=admin_site if post else None, follow_refusals=True
    )


# --- The table --------------------------------------------------------------
ALL_CONTESTS = (
    "draft", "nominations", "polling", "ranked", "in_room", "paper", "counted", "quashed", "rerun",
)  # fmt: skip
# A result is for the body once declared (also when later quashed), for the
# secretary once counted, and for nobody while polling.
RESULT_FILES = by_case(quashed=body(*IN_BODY), counted=body("secretary"), polling=body())

TABLE: dict[str, Row] = {
    # Members' pages
    "home": Row(one(), get=everyone),
    "past_contests": Row(one(), get=everyone),
    "upcoming_contests": Row(one(), get=everyone),
    "contest": Row(contests(*ALL_CONTESTS), get=body(*IN_BODY)),
    "results": Row(contests("quashed", "counted", "polling"), get=body(*IN_BODY)),
    "results_print": Row(contests("quashed", "counted", "polling"), get=RESULT_FILES),
    "results_csv": Row(contests("quashed", "counted", "polling"), get=RESULT_FILES),
    "ballots_blt": Row(contests("quashed", "counted", "polling"), get=RESULT_FILES),
    "receipt_check": Row(
        contests("quashed", "polling"),
        get=body(*IN_BODY),
        post=body(*IN_BODY),
        data=lambda w: {"code": "7K3M-Q9XD-2PAT-V4HN"},
    ),
    "complaint_lodge": Row(
        contests("counted", "quashed"),
        get=body(*MEMBERS),
        post=done(body(*MEMBERS)),
        data=lambda w: {"text": "Members were turned away at the door."},
    ),
    "contest_rulings": Row(contests("quashed", "rerun", "polling"), get=body(*IN_BODY)),
    "inbox": Row(one(), get=everyone, post=everyone),
    "notification_settings": Row(one(), get=everyone, post=everyone, data=lambda w: {}),
    # Voting
    "ballot": Row(
        ballot_cases,
        get=body(*MEMBERS),
        # Cast where the poll is open online; refused (409) in the room and once closed.
        post=by_case(
            polling=done(body(*MEMBERS)),
            ranked=done(body(*MEMBERS)),
            in_room=body(*MEMBERS),
            quashed=body(*MEMBERS),
        ),
        also_ok=frozenset({400, 409}),
    ),
    "proxy_ballot": Row(
        proxy_ballot_cases,
        # Only the holder of an approved proxy learns that the principal's ballot exists.
        get=by_case(held=body("member", hidden=("candidate",)), not_held=body(hidden=MEMBERS)),
        post=by_case(
            held=done(body("member", hidden=("candidate",))), not_held=body(hidden=MEMBERS)
        ),
        also_ok=frozenset({400, 409}),
    ),
    "proxy_appoint": Row(
        contests("nominations", "polling"),
        get=body(*MEMBERS),
        post=by_case(nominations=done(body(*MEMBERS)), polling=body(noop=MEMBERS)),
        data=lambda w: {"proxy": w.people["erin"].pk},
    ),
    "proxy_list": Row(contests("nominations", "polling"), get=body("secretary")),
    "proxy_decide": Row(
        proxy_decide_cases,
        get=post_only,
        post=by_case(pending=done(body("secretary")), decided=body(noop=("secretary",))),
        data=lambda w: {"reason": "Not a member in good standing."},
    ),
    # Nominations
    "stand": Row(
        contests("nominations", "polling"),
        get=body(*MEMBERS),
        # cara already stands; nobody stands once the paper is final.
        post=by_case(
            nominations=done(body("member", noop=("candidate",))), polling=body(noop=MEMBERS)
        ),
        data=lambda w: {"statement": "I will serve the group.", "affiliation": ""},
    ),
    "nominate": Row(
        standing_cases,
        get=post_only,
        # A candidate cannot nominate herself; nobody nominates once the paper is final.
        post=by_case(standing=done(body("member", noop=("candidate",))), final=body(noop=MEMBERS)),
    ),
    "candidate_accept": Row(
        standing_cases,
        get=post_only,
        post=by_case(standing=done(body("secretary")), final=body(noop=("secretary",))),
    ),
    "candidate_reject": Row(
        standing_cases,
        get=body("secretary"),
        post=by_case(standing=done(body("secretary")), final=body(noop=("secretary",))),
        data=lambda w: {"reason": "Not a member of the group."},
    ),
    "candidate_withdraw": Row(
        standing_cases,
        get=post_only,
        # The candidate herself or the secretary, until the paper is final.
        post=by_case(
            standing=done(body("candidate", "secretary")),
            final=body(noop=("candidate", "secretary")),
        ),
        data=lambda w: {"reason": "Family reasons."},
    ),
    "candidate_add": Row(
        contests("draft", "nominations", "polling"),
        get=body("secretary"),
        post=by_case(
            draft=done(body("secretary")),
            nominations=done(body("secretary")),
            polling=body(noop=("secretary",)),
        ),
        data=lambda w: {"name": "Dan Dyer", "affiliation": "", "gender": "", "statement": ""},
    ),
    # The secretary's pages
    "contest_create": Row(
        the_body, get=body("secretary"), post=done(body("secretary")), data=_new_contest
    ),
    "schedule": Row(
        contests("rerun", "polling"),
        get=body("secretary"),
        post=by_case(rerun=done(body("secretary")), polling=body(noop=("secretary",))),
        data=_schedule,
    ),
    "transition": Row(
        transition_cases,
        get=post_only,
        post=by_case(
            **{
                "open-nominations": done(body("secretary")),
                # cara's nomination waits for a decision: the paper cannot be final yet.
                "finalise": body(noop=("secretary",)),
                "open-poll": done(body("secretary")),
                "close-poll": done(body("secretary")),
                # The paper counts wait for olive's countersignature.
                "count": body(noop=("secretary",)),
                "declare": done(body("secretary")),
                "unknown": body(hidden=("secretary",)),
            }
        ),
    ),
    "register": Row(
        polls("in_room", "paper"),
        get=body("secretary"),
        post=by_case(in_room=done(body("secretary")), paper=body(noop=("secretary",))),
        data=lambda w: {"voter": w.people["member"].pk},
    ),
    "paper_counts": Row(
        polls("paper"), get=body("secretary"), post=done(body("secretary")), data=_paper_counts
    ),
    "countersign": Row(polls("paper"), get=post_only, post=done(body("observer"))),
    "roll_import": Row(the_body, get=body("secretary"), post=body("secretary"), data=_roll_file),
    "roll_import_apply": Row(
        the_body,
        get=post_only,
        # A forged token: the secretary is told, nothing is applied.
        post=body(noop=("secretary",)),
        data=lambda w: {"token": "forged"},
    ),
    # Observers
    "turnout": Row(contests("polling", "quashed"), get=body("secretary", "observer")),
    "audit_trail": Row(contests("polling", "quashed"), get=body("secretary", "observer")),
    "observer_invite": Row(
        the_body,
        get=body("secretary"),
        post=done(body("secretary")),
        data=lambda w: {"name": "Vera Watcher", "email": "vera.watcher@example.org"},
    ),
    # The regional office (its site's own views; the model admins are matched below)
    "office:index": Row(one(), get=office(Outcome.OK)),
    "office:login": Row(one(), get=office(Outcome.OK), post=office(Outcome.OK)),
    "office:logout": Row(one(), get=office(Outcome.NOT_ALLOWED), post=office(Outcome.OK)),
    "office:password_change": Row(one(), get=office(Outcome.OK), post=office(Outcome.OK)),
    "office:password_change_done": Row(one(), get=office(Outcome.OK)),
    "office:jsi18n": Row(one(), get=office(Outcome.OK)),
    "office:app_list": Row(
        lambda w: [Case("-", {"app_label": "elections"})], get=office(Outcome.OK)
    ),
    "office:elections_contest_ruling": Row(
        ruling_cases,
        get=office(Outcome.OK, Outcome.FORBIDDEN),
        post=office(Outcome.OK, Outcome.FORBIDDEN),
    ),
    "office:elections_complaint_review": Row(
        lambda w: [
            Case("open", {"object_id": w.objects["complaint_open"].pk}),
            Case("decided", {"object_id": w.objects["complaint_decided"].pk}),
        ],
        get=office(Outcome.OK, Outcome.FORBIDDEN),
        post=by_case(
            open=office(Outcome.DONE, Outcome.FORBIDDEN),
            decided=office(Outcome.NOOP, Outcome.FORBIDDEN),
        ),
    ),
    "<unnamed> office/(?P<url>.*)$": Row(
        lambda w: [Case("-", {"url": "no-such-page/"})],
        get=office(Outcome.HIDDEN),
    ),
    # The Django admin: site admins only, and nobody in the cast is one.
    "admin:index": admin_row(),
    "admin:login": admin_row(),
    "admin:logout": admin_row(),
    "admin:password_change": admin_row(),
    "admin:password_change_done": admin_row(),
    "admin:autocomplete": admin_row(),
    "admin:jsi18n": admin_row(),
    "admin:view_on_site": admin_row(
        lambda w: [Case("-", {"content_type_id": 1, "object_id": w.contests["polling"].pk})]
    ),
    "admin:app_list": admin_row(lambda w: [Case("-", {"app_label": "elections"})]),
    "admin:auth_user_password_change": admin_row(
        lambda w: [Case("-", {"id": w.people["member"].pk})]
    ),
    "<unnamed> admin/(?P<url>.*)$": admin_row(lambda w: [Case("-", {"url": "no-such-page/"})]),
    # allauth: pages for anyone, and pages for the logged-in.
    "account_login": Row(one(), get=allauth_public, post=allauth_public),
    "account_logout": Row(one(), get=allauth_public, post=allauth_public),
    "account_inactive": Row(one(), get=allauth_public),
    # Accounts are made by secretaries and admins: sign-up is closed to everyone.
    "account_signup": Row(
        one(),
        get=allauth_public,
        post=lambda role, case: Outcome.NOOP if role == "anonymous" else Outcome.ANSWERED,
        data=lambda w: {
            "email": "walk-in@example.org",
            "password1": "a-long-walk-in-password",
            "password2": "a-long-walk-in-password",
        },
    ),
    "account_reauthenticate": Row(one(), get=allauth_private, post=allauth_private),
    "account_email": Row(one(), get=allauth_private, post=allauth_private),
    "account_email_verification_sent": Row(one(), get=allauth_public),
    "account_change_password": Row(one(), get=allauth_private, post=allauth_private),
    "account_set_password": Row(one(), get=allauth_private, post=allauth_private),
    "account_reset_password": Row(one(), get=allauth_public, post=allauth_public),
    "account_reset_password_done": Row(one(), get=allauth_public),
    "account_reset_password_from_key": Row(
        lambda w: [Case("bad key", {"uidb36": "1z", "key": "set-password-badkey"})],
        get=allauth_public,
        post=allauth_public,
    ),
    "account_reset_password_from_key_done": Row(one(), get=allauth_public),
    "account_confirm_email": Row(
        lambda w: [Case("bad key", {"key": "not-a-real-key"})],
        get=allauth_public,
        post=allauth_public,
    ),
    "account_confirm_login_code": Row(one(), get=allauth_private, post=allauth_private),
    "mfa_index": Row(one(), get=allauth_private),
    "mfa_authenticate": Row(one(), get=allauth_private, post=allauth_private),
    "mfa_reauthenticate": Row(one(), get=allauth_private, post=allauth_private),
    "mfa_activate_totp": Row(one(), get=allauth_private, post=allauth_private),
    "mfa_deactivate_totp": Row(one(), get=allauth_private, post=allauth_private),
    "mfa_view_recovery_codes": Row(one(), get=allauth_private),
    "mfa_generate_recovery_codes": Row(one(), get=allauth_private, post=allauth_private),
    "mfa_download_recovery_codes": Row(one(), get=allauth_private),
}

# Patterns matched by shape, each with the function that makes its row.
GROUPS: list[tuple[re.Pattern[str], Callable[[str], Row]]] = [
    (_OFFICE_MODEL, office_model_row),
    (_OFFICE_UNNAMED_OBJECT, office_object_redirect_row),
    (_ADMIN_MODEL, admin_model_row),
    # The bare object URL only redirects to the change page.
    (
        _ADMIN_UNNAMED_OBJECT,
        lambda key: admin_row(lambda w: [Case("-", {"object_id": 1})], post=False),
    ),
]


def row_for(key: str) -> Row | None:
    if key in TABLE:
        return TABLE[key]
    for pattern, make in GROUPS:
        if pattern.match(key):
            return make(key)
    return None


# --- Checking one answer ----------------------------------------------------
_LOGIN_PATHS = ("/accounts/login/",)
# The admin sites' own login pages: the walk checks them as rows of their own
# (anonymous visitors are sent on to /accounts/login/, everyone else refused),
# so a redirect to one is taken at its word rather than followed.
_SITE_LOGINS = ("/admin/login/", "/office/login/")
# A statement that writes, or one whose WITH clauses do (casting's, on PostgreSQL).
_WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE)\b|^\s*WITH\b.*\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\b",
    re.IGNORECASE | re.DOTALL,
)
_SESSION_TABLE = "django_session"
# Casting's one statement on a known paper (services/casting.py, `cast_on_known_paper`)
# is sent before anything is read, and its own checks decide whether it writes: for
# it, what counts is whether a row changed.
_CONDITIONAL_CAST = re.compile(r"^\s*WITH poll AS\b.*\bAND \(voter_is_member OR NOT\b", re.DOTALL)


def _location(response: HttpResponse) -> str:
    return urlsplit(response.get("Location", "")).path


def _follow(client: Client, response: HttpResponse) -> HttpResponse:
    """Follow a chain of redirects with GETs (at most a few hops)."""
    for _ in range(5):
        if response.status_code not in (HTTPStatus.FOUND, HTTPStatus.MOVED_PERMANENTLY):
            break
        response = client.get(response["Location"])
    return response


def judge(
    client: Client, response: HttpResponse, expected: Outcome, row: Row, method: str
) -> str | None:
    """None if the answer is what the table expects, otherwise what was wrong."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    redirect = status in (HTTPStatus.FOUND, HTTPStatus.MOVED_PERMANENTLY)
    to_login = redirect and _location(response).startswith(_LOGIN_PATHS)
    if expected in (Outcome.OK, Outcome.DONE, Outcome.NOOP):
        if status == HTTPStatus.OK or status in row.also_ok or (redirect and not to_login):
            return None
        return f"status {status} {response.get('Location', '')}".strip()
    if expected is Outcome.ANSWERED:
        if status in (HTTPStatus.OK, HTTPStatus.NOT_FOUND) or (redirect and not to_login):
            return None
        return f"status {status} {response.get('Location', '')}".strip()
    if expected is Outcome.LOGIN:
        if not redirect:
            return f"status {status}"
        if _location(response).startswith(_LOGIN_PATHS + _SITE_LOGINS):
            return None
        final = _follow(client, response)
        if final.status_code == HTTPStatus.OK and final.request["PATH_INFO"] in _LOGIN_PATHS:
            return None
        return f"redirected to {response['Location']}, ending at {final.request['PATH_INFO']}"
    wanted = {
        Outcome.FORBIDDEN: HTTPStatus.FORBIDDEN,
        Outcome.HIDDEN: HTTPStatus.NOT_FOUND,
        Outcome.NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    }[expected]
    if status == wanted:
        return None
    if redirect and row.follow_refusals and expected is Outcome.FORBIDDEN:
        if _location(response) == "/admin/login/":
            return None
        final = _follow(client, response)
        if final.status_code == wanted:
            return None
        return f"redirected to {response['Location']}, ending with {final.status_code}"
    return f"status {status} {response.get('Location', '')}".strip()


class WriteRecorder:
    """Every INSERT, UPDATE or DELETE a request sends, but the session's; casting's
    conditional statement apart (`conditional`)."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.conditional: list[str] = []

    def __call__(self, execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if _CONDITIONAL_CAST.match(sql):
            self.conditional.append(sql[:120])
        elif _WRITE.match(sql) and _SESSION_TABLE not in sql:
            self.writes.append(sql[:120])
        return execute(sql, *args)


def _leaks(response: HttpResponse, secrets: list[str]) -> list[str]:
    if response.status_code != HTTPStatus.OK or response.streaming:
        return []
    if "text/html" not in response.get("Content-Type", ""):
        return []
    page = response.content.decode(errors="replace")
    return [s for s in secrets if s in page]


# --- The walk ---------------------------------------------------------------
def test_the_table_names_every_url_pattern() -> None:
    """A pattern added without a row here fails, naming it; so does a stale row."""
    keys = [p.key for p in url_patterns()]
    missing = sorted({k for k in keys if row_for(k) is None})
    assert not missing, f"URL patterns with no row in the security walk's table: {missing}"
    stale = sorted(set(TABLE) - set(keys))
    assert not stale, f"Rows for URL patterns that no longer exist: {stale}"


@dataclass
class Request:
    method: str
    path: str
    key: str
    case: Case
    row: Row
    rule: Rule


def requests_for(world: World) -> list[Request]:
    out: list[Request] = []
    for pattern in url_patterns():
        row = row_for(pattern.key)
        assert row is not None, f"no row in the table for {pattern.key}"
        for case in row.cases(world):
            if pattern.key.startswith("<unnamed>"):
                path = _fill(pattern.route, case.kwargs)
            else:
                path = reverse(pattern.key, kwargs=case.kwargs)
            out.append(Request("GET", path, pattern.key, case, row, row.get))
            if row.post is not None:
                out.append(Request("POST", path, pattern.key, case, row, row.post))
    return out


@pytest.mark.django_db
def test_every_url_answers_every_role_as_the_table_says(
    world: World, clients: dict[str, Client]
) -> None:
    test_the_table_names_every_url_pattern()
    requests = requests_for(world)
    baseline = snapshot()
    saved = {role: copy.deepcopy(client.cookies) for role, client in clients.items()}
    secrets = world.secrets()
    failures: list[str] = []
    for request in requests:
        for role in ROLES:
            client = clients[role]
            expected = request.rule(role, request.case)
            data_of = request.case.data or request.row.data
            recorder = WriteRecorder()
            with rolled_back(), connection.execute_wrapper(recorder):
                if request.method == "GET":
                    response = client.get(request.path)
                else:
                    response = client.post(request.path, data_of(world) if data_of else {})
                where = f"{request.method} {request.path} [{request.key}] as {role}"
                problem = judge(client, response, expected, request.row, request.method)
                if problem is not None:
                    failures.append(f"{where}: {problem}; expected {expected.value}")
                wrote = recorder.writes or recorder.conditional
                if expected is Outcome.DONE and not wrote and response.status_code < 400:
                    failures.append(f"{where}: allowed, but it wrote nothing")
                if expected not in (Outcome.OK, Outcome.DONE, Outcome.ANSWERED) and (
                    response.status_code < 500
                ):
                    # Any write at all shows here, even one undone later in the request;
                    # casting's conditional statement, by the rows (the snapshot).
                    if recorder.writes:
                        failures.append(
                            f"{where}: {expected.value}, but it wrote {recorder.writes}"
                        )
                    elif request.method == "POST":
                        changed = baseline.differences(snapshot())
                        if changed:
                            failures.append(f"{where}: {expected.value}, but {changed}")
                if role in ("anonymous", "outsider", "other_official"):
                    leaked = _leaks(response, secrets)
                    if leaked:
                        failures.append(f"{where}: the page shows {leaked}")
            client.cookies = copy.deepcopy(saved[role])
    assert not failures, f"{len(failures)} answers differ from the table:\n" + "\n".join(failures)
