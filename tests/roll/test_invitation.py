"""The invitation a roll import sends: a link to set a password, made at delivery."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import User
from elections.delivery import deliver_pending
from elections.models import Notification, NotificationKind
from tests.roll.conftest import csv_text

SITE = "https://teller.example.org"
KEY_LINK = re.compile(re.escape(SITE) + r"(/accounts/password/reset/key/[^\s\"<]+)")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):  # type: ignore[no-untyped-def]
    settings.SITE_URL = SITE


@pytest.fixture
def imported(client, sam, charlie, upload, apply):  # type: ignore[no-untyped-def]
    """Dave is new (no account); Charlie already has one, in another body."""
    client.force_login(sam)
    token = upload(
        csv_text("Dave Dunn,dave@example.org,South,", f"Charlie Outsider,{charlie.email},E,")
    ).context["token"]
    apply(token)
    client.logout()
    return User.objects.get(email="dave@example.org"), charlie


def test_it_emails_new_members_a_link_to_set_a_password(imported, mailoutbox):
    dave, charlie = imported
    # Nothing secret waits in the outbox: the key is made when the email is.
    for notice in Notification.objects.filter(kind=NotificationKind.INVITED):
        assert notice.context == {"body": "Ashby group"}
    assert deliver_pending().sent == 2

    by_recipient = {message.to[0]: message for message in mailoutbox}
    invitation = by_recipient[dave.email]
    html = invitation.alternatives[0][0]
    link = KEY_LINK.search(invitation.body)
    assert link, invitation.body
    assert "Set your password" in invitation.body and "Set your password" in html
    assert link.group(0) in html
    assert "Ashby group" in invitation.body

    # Someone who can already log in is not sent a key to their account.
    other = by_recipient[charlie.email]
    assert not KEY_LINK.search(other.body)
    assert SITE + reverse("inbox") in other.body


def test_the_link_sets_the_password_once(client, imported, mailoutbox):
    dave, _ = imported
    deliver_pending()
    (message,) = [m for m in mailoutbox if m.to == [dave.email]]
    path = KEY_LINK.search(message.body).group(1)

    form = client.get(path, follow=True)
    assert form.status_code == HTTPStatus.OK
    set_url = form.redirect_chain[-1][0] if form.redirect_chain else path
    new = "a-brand-new-password-42"
    done = client.post(set_url, {"password1": new, "password2": new})
    assert done.status_code == HTTPStatus.FOUND
    dave.refresh_from_db()
    assert dave.check_password(new)
    client.logout()
    assert client.login(email=dave.email, password=new)
    client.logout()

    # Spent: the key was made from the password it replaced.
    again = client.get(path, follow=True)
    assert b"password1" not in again.content
