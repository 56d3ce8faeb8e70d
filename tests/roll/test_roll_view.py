"""The roll import pages: upload, preview, apply; who may; what is refused."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from elections.models import AuditEvent, Membership, Notification, NotificationKind
from elections.services.roll import PREVIEW_TTL
from tests.roll.conftest import csv_text

pytestmark = pytest.mark.django_db


def memberships(body):  # type: ignore[no-untyped-def]
    return {
        m.user.email: (m.role, m.ward, m.active)
        for m in Membership.objects.filter(body=body).select_related("user")
    }


def snapshot(body):  # type: ignore[no-untyped-def]
    """Everything an import could change."""
    return (
        sorted(User.objects.values_list("email", "full_name", "gender", "password")),
        memberships(body),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    )


def flashed(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def cast(alice, bob, sam, olive, charlie):  # type: ignore[no-untyped-def]
    return alice, bob, sam, olive, charlie


@pytest.fixture
def as_sam(client, cast):  # type: ignore[no-untyped-def]
    client.force_login(cast[2])
    return client


# --- a valid file ---------------------------------------------------------------
def test_it_previews_then_applies_a_valid_file(as_sam, cast, body, upload, apply):
    alice, bob, sam, olive, charlie = cast
    before = snapshot(body)
    response = upload(
        csv_text(
            f"Alice Archer,{alice.email.upper()},North,f",
            "Dave Dunn,dave@example.org,South,m",
            f"Charlie Outsider,{charlie.email},East,",
        )
    )
    assert response.status_code == HTTPStatus.OK
    assert response.templates[0].name == "elections/roll_preview.html"
    plan = response.context["plan"]
    assert [(j.row.email, j.creates_account) for j in plan.joining] == [
        ("dave@example.org", True),
        (charlie.email, False),
    ]
    assert [u.row.email for u in plan.updated] == [alice.email]
    assert {c.field for c in plan.updated[0].changes} == {"name", "gender", "ward"}
    assert [p.email for p in plan.leaving] == [bob.email]  # not sam, not olive
    page = response.content.decode()
    for text in ("Dave Dunn", "Alice Member → Alice Archer", "Bob Member", "<caption>"):
        assert text in page
    assert snapshot(body) == before, "a preview changes nothing"

    response = apply(response.context["token"])
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("roll_import", args=[body.pk])
    assert flashed(response) == [
        "The roll of Ashby group is imported: 2 joined (1 new account), 1 updated, 1 left, "
        "0 unchanged; 2 invitations queued."
    ]

    dave = User.objects.get(email="dave@example.org")
    assert (dave.full_name, dave.gender, dave.has_usable_password()) == ("Dave Dunn", "man", False)
    alice.refresh_from_db()
    assert (alice.full_name, alice.gender) == ("Alice Archer", "woman")
    assert memberships(body) == {
        alice.email: ("member", "North", True),
        bob.email: ("member", "", False),  # deactivated, not deleted
        sam.email: ("secretary", "", True),
        olive.email: ("observer", "", True),
        dave.email: ("member", "South", True),
        charlie.email: ("member", "East", True),
    }
    charlie.refresh_from_db()
    assert charlie.has_usable_password(), "an existing account keeps its password"

    invited = Notification.objects.filter(kind=NotificationKind.INVITED)
    assert sorted(invited.values_list("user__email", flat=True)) == sorted(
        [dave.email, charlie.email]
    )
    assert all(n.context == {"body": "Ashby group"} for n in invited)

    (event,) = AuditEvent.objects.filter(action="roll.imported")
    assert (event.actor_id, event.body_id) == (sam.pk, body.pk)
    assert event.reason == "Roll imported from roll.csv"
    assert {k: event.data[k] for k in ("joining", "accounts_created", "updated", "leaving")} == {
        "joining": 2,
        "accounts_created": 1,
        "updated": 1,
        "leaving": 1,
    }
    assert event.data["rows"] == 3 and event.data["unchanged"] == 0


def test_it_shows_counts_and_the_first_200_of_a_big_file(as_sam, cast, upload):
    lines = [f"Member {i},m{i}@example.org,Ward {i % 7}," for i in range(450)]
    response = upload(csv_text(*lines))
    assert response.context["counts"]["joining"] == 450
    assert len(response.context["joining"]) == 200
    page = response.content.decode()
    assert "New members: 450, the first 200 shown" in page
    assert "… and 250 more new members." in page
    assert "Member 199" in page and "Member 200<" not in page


def test_it_says_when_there_is_nothing_to_change(as_sam, cast, upload):
    alice, bob, *_ = cast
    response = upload(csv_text(f"Alice Member,{alice.email},,", f"Bob Member,{bob.email},,"))
    assert response.context["plan"].is_empty
    page = response.content.decode()
    assert "there is nothing to change" in page
    assert "Apply these changes" not in page


# --- a file with errors -----------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (csv_text("Ann,ann@example.org,N,", "Ben,ben@example,S,"), "Line 3: “ben@example” is not"),
        (
            csv_text("Ann,ann@example.org,N,", "Ann,ANN@example.org,S,"),
            "Line 3: the email address ann@example.org is already on line 2.",
        ),
        ("name,email\nAnn,ann@example.org\n", "Line 1: the header has no “ward” column"),
        (csv_text("Ann,ann@example.org,N,", ",ben@example.org,S,"), "Line 3: the name is missing."),
        (csv_text("Ann,ann@example.org,N,X"), "Line 2: the gender “X” is not one we know"),
        (csv_text("Ann,ann@example.org,N,", "Ben,ben@example.org,S"), "Line 3: expected 4 fields"),
        ("name,email,ward\nBéa,bea@example.org,N\n".encode("latin-1"), "Line 2: the file is not"),
        (b"", "The file is empty."),
        (b"PK\x03\x04\x00\x00binary", "This is not a CSV file"),
    ],
    ids=[
        "bad-email",
        "duplicate-email",
        "missing-column",
        "missing-name",
        "unknown-gender",
        "wrong-field-count",
        "not-utf8",
        "empty",
        "not-csv",
    ],
)
def test_it_refuses_a_file_with_errors_and_applies_nothing(
    as_sam, cast, body, upload, content, expected
):
    before = snapshot(body)
    response = upload(content)
    assert response.status_code == HTTPStatus.OK
    assert response.templates[0].name == "elections/roll_import.html"
    errors = response.context["form"].errors["file"]
    assert any(e.startswith(expected) for e in errors), errors
    page = response.content.decode()
    assert "The file was not imported" in page and 'id="id_file_error"' in page
    assert 'aria-describedby="id_file_helptext id_file_error"' in page
    assert "token" not in response.context
    assert snapshot(body) == before


def test_a_file_with_one_bad_line_applies_none_of_the_good_ones(as_sam, cast, body, upload):
    before = snapshot(body)
    good = [f"Member {i},m{i}@example.org,W," for i in range(20)]
    response = upload(csv_text(*good, "Broken,not-an-email,W,"))
    assert response.context["form"].errors["file"] == [
        "Line 22: “not-an-email” is not a valid email address."
    ]
    assert snapshot(body) == before


# --- re-import ------------------------------------------------------------------
def test_a_reimport_updates_and_removes_members_and_can_bring_them_back(
    as_sam, cast, body, upload, apply
):
    alice, bob, *_ = cast
    first = [f"Alice Member,{alice.email},North,", f"Bob Member,{bob.email},South,"]
    first += ["Dave Dunn,dave@example.org,East,m", "Erin Evans,erin@example.org,West,f"]
    apply(upload(csv_text(*first)).context["token"])
    assert memberships(body)[bob.email] == ("member", "South", True)

    # Bob and Erin leave; Alice changes ward; Dave changes name.
    second = [f"Alice Member,{alice.email},Central,", "Dave Dunne,dave@example.org,East,m"]
    response = upload(csv_text(*second))
    plan = response.context["plan"]
    assert [p.email for p in plan.leaving] == [bob.email, "erin@example.org"]
    assert [u.row.email for u in plan.updated] == [alice.email, "dave@example.org"]
    assert plan.joining == []
    apply(response.context["token"])

    roll = memberships(body)
    assert roll[alice.email] == ("member", "Central", True)
    assert roll[bob.email] == ("member", "South", False)
    assert roll["erin@example.org"] == ("member", "West", False)
    assert User.objects.filter(email="erin@example.org").exists(), "never deleted"
    assert User.objects.get(email="dave@example.org").full_name == "Dave Dunne"
    assert Membership.objects.filter(body=body, role="member").count() == 4

    # Bob comes back: his old place again, active, dated now; he is told.
    response = upload(csv_text(*second, f"Bob Member,{bob.email},North,"))
    (joining,) = response.context["plan"].joining
    assert joining.rejoining
    apply(response.context["token"])
    place = Membership.objects.get(body=body, user=bob, role="member")
    assert (place.active, place.ward) == (True, "North")
    assert place.joined_at > timezone.now() - timedelta(minutes=1)
    assert Notification.objects.filter(user=bob, kind=NotificationKind.INVITED).count() == 1
    assert AuditEvent.objects.filter(action="roll.imported").count() == 3


# --- tokens -----------------------------------------------------------------------
def refused(response, text: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == HTTPStatus.FOUND
    message = flashed(response)[-1]  # earlier ones wait unread in the session
    assert text in message and "nothing was changed" in message


def test_it_refuses_a_tampered_token(as_sam, cast, body, upload, apply):
    token = upload(csv_text("Dave Dunn,dave@example.org,S,")).context["token"]
    before = snapshot(body)
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    refused(apply(forged), "This preview could not be verified")
    refused(apply(""), "This preview could not be verified")
    refused(apply("not-a-token"), "This preview could not be verified")
    assert snapshot(body) == before


def test_it_refuses_an_expired_preview(as_sam, cast, body, upload, apply, settings):
    # sam stays busy meanwhile: an hour idle would end an official's session
    # (TELLER_OFFICIAL_IDLE_SECONDS) before the preview expired.
    settings.TELLER_OFFICIAL_IDLE_SECONDS = 2 * PREVIEW_TTL
    with time_machine.travel(timezone.now(), tick=False) as clock:
        token = upload(csv_text("Dave Dunn,dave@example.org,S,")).context["token"]
        before = snapshot(body)
        clock.shift(timedelta(seconds=PREVIEW_TTL + 5))
        refused(apply(token), "This preview has expired")
    assert snapshot(body) == before


def test_it_refuses_a_preview_when_the_roll_changed_since(as_sam, cast, body, upload, apply):
    alice, *_ = cast
    token = upload(csv_text(f"Alice Member,{alice.email},North,")).context["token"]
    # Meanwhile, someone moves Alice to another ward in the admin.
    Membership.objects.filter(body=body, user=alice).update(ward="South")
    before = snapshot(body)
    refused(apply(token), "The roll has changed since this preview was made")
    assert snapshot(body) == before


def test_it_refuses_a_token_made_for_another_body(client, cast, body, other_body, upload, apply):
    admin = User.objects.create_superuser("root@example.org", "x-long-password-1")
    client.force_login(admin)
    token = upload(csv_text("Dave Dunn,dave@example.org,S,"), to=other_body).context["token"]
    before = snapshot(body)
    refused(apply(token, to=body), "This preview could not be verified")
    assert snapshot(body) == before


def test_a_second_apply_of_the_same_preview_changes_nothing(as_sam, cast, body, upload, apply):
    bob = cast[1]
    preview = upload(csv_text("Dave Dunn,dave@example.org,S,", f"Bob Member,{bob.email},,"))
    token = preview.context["token"]
    apply(token)
    after_first = snapshot(body)
    refused(apply(token), "This import has already been applied")
    assert snapshot(body) == after_first
    assert User.objects.filter(email="dave@example.org").count() == 1
    assert AuditEvent.objects.filter(action="roll.imported").count() == 1
    assert Notification.objects.filter(kind=NotificationKind.INVITED).count() == 1


# --- who may ---------------------------------------------------------------------
def test_the_secretary_sees_the_page_and_a_link_from_home(as_sam, body):
    response = as_sam.get(reverse("roll_import", args=[body.pk]))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert '<label for="id_file">Roll file (CSV)</label>' in page
    assert 'enctype="multipart/form-data"' in page
    home = as_sam.get(reverse("home")).content.decode()
    assert f'href="{reverse("roll_import", args=[body.pk])}">Import the roll</a>' in home


def test_a_superuser_may_import_without_a_place_in_the_body(client, body):
    client.force_login(User.objects.create_superuser("root@example.org", "x-long-password-1"))
    assert client.get(reverse("roll_import", args=[body.pk])).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("alice", HTTPStatus.FORBIDDEN),  # a member
        ("olive", HTTPStatus.FORBIDDEN),  # an observer
        ("charlie", HTTPStatus.NOT_FOUND),  # an outsider: the body is not theirs to know
    ],
)
def test_others_cannot_import(client, cast, body, upload, apply, who, status):
    sam = cast[2]
    client.force_login(sam)
    token = upload(csv_text("Dave Dunn,dave@example.org,S,")).context["token"]
    before = snapshot(body)
    client.force_login({"alice": cast[0], "olive": cast[3], "charlie": cast[4]}[who])
    assert client.get(reverse("roll_import", args=[body.pk])).status_code == status
    assert upload(csv_text("Eve,eve@example.org,S,")).status_code == status
    assert apply(token).status_code == status
    assert snapshot(body) == before


def test_a_visitor_is_sent_to_log_in(client, body, upload, apply):
    for response in (
        client.get(reverse("roll_import", args=[body.pk])),
        upload(csv_text("Eve,eve@example.org,S,")),
        apply("x"),
    ):
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith(reverse("account_login"))


def test_apply_only_takes_a_post(as_sam, body):
    url = reverse("roll_import_apply", args=[body.pk])
    assert as_sam.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED
