"""Officials need a second factor before they act in their role; members vote without one.

The cast here has no authenticators until a test gives them one
(tests/security/conftest.py): sam (secretary), olive (observer), rita
(regional official) and ada (site administrator) meet the setup page first;
alice (member) votes straight away.
"""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from elections.models import Contest, ContestState, Membership, Participation
from tests.conftest import (
    PASSWORD,
    candidate_ids,
    enrol_totp,
    poll_of,
    totp_code,
    totp_secret,
)

pytestmark = pytest.mark.django_db

SETUP = reverse("mfa_activate_totp")


def _logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def _role_pages(contest: Contest) -> dict[str, str]:
    poll = poll_of(contest)
    return {
        "contest page": reverse("contest", args=[contest.pk]),
        "new contest": reverse("contest_create", args=[contest.body_id]),
        "schedule": reverse("schedule", args=[contest.pk]),
        "register": reverse("register", args=[poll.pk]),
        "proxy list": reverse("proxy_list", args=[contest.pk]),
        "turnout": reverse("turnout", args=[contest.pk]),
        "audit trail": reverse("audit_trail", args=[contest.pk]),
        "home": reverse("home"),
    }


def test_it_sends_a_secretary_without_mfa_to_the_setup_page(sam, make_contest):
    contest = make_contest()
    client = _logged_in(sam)
    for name, url in _role_pages(contest).items():
        response = client.get(url)
        assert response.status_code == HTTPStatus.FOUND, name
        assert response["Location"] == SETUP, name


def test_it_does_not_let_a_secretary_without_mfa_act_by_post(sam, make_contest):
    contest = make_contest()
    response = _logged_in(sam).post(reverse("transition", args=[contest.pk, "close-poll"]))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == SETUP
    contest.refresh_from_db()
    assert contest.state == ContestState.POLLING


def test_it_lets_the_secretary_in_once_they_have_an_authenticator(sam, make_contest):
    contest = make_contest()
    enrol_totp(sam)
    client = _logged_in(sam)
    for name, url in _role_pages(contest).items():
        assert client.get(url).status_code == HTTPStatus.OK, name


def test_it_sends_an_observer_without_mfa_to_the_setup_page(olive, make_contest):
    contest = make_contest()
    client = _logged_in(olive)
    turnout = reverse("turnout", args=[contest.pk])
    assert client.get(turnout)["Location"] == SETUP
    enrol_totp(olive)
    assert client.get(turnout).status_code == HTTPStatus.OK


def test_it_sends_a_regional_official_without_mfa_to_the_setup_page(rita):
    client = _logged_in(rita)
    office = reverse("office:index")
    assert client.get(office)["Location"] == SETUP
    enrol_totp(rita)
    assert client.get(office).status_code == HTTPStatus.OK


def test_it_sends_a_site_admin_without_mfa_to_the_setup_page(ada):
    client = _logged_in(ada)
    admin = reverse("admin:index")
    assert client.get(admin)["Location"] == SETUP
    enrol_totp(ada)
    assert client.get(admin).status_code == HTTPStatus.OK


def test_it_gates_again_when_the_authenticator_is_removed(sam, make_contest):
    contest = make_contest()
    enrol_totp(sam)
    client = _logged_in(sam)
    url = reverse("schedule", args=[contest.pk])
    assert client.get(url).status_code == HTTPStatus.OK
    Authenticator.objects.filter(user=sam).delete()
    assert client.get(url)["Location"] == SETUP


def test_it_lets_a_member_vote_without_mfa(alice, make_contest):
    contest = make_contest()
    poll = poll_of(contest)
    client = _logged_in(alice)
    assert client.get(reverse("home")).status_code == HTTPStatus.OK
    url = reverse("ballot", args=[poll.pk])
    assert client.get(url).status_code == HTTPStatus.OK
    paper = {
        "paper": poll.ballot_paper().fingerprint,
        "choice": candidate_ids(contest)["Ann Archer"],
    }
    cast = client.post(url, {**paper, "action": "cast"})
    assert cast.status_code == HTTPStatus.OK
    assert Participation.objects.filter(poll=poll, voter=alice).exists()
    assert not Authenticator.objects.filter(user=alice).exists()


def test_a_secretary_who_is_also_a_councillor_can_vote_before_setting_up_mfa(
    sam, body, make_contest
):
    Membership.objects.create(body=body, user=sam, role=Membership.Role.MEMBER)
    contest = make_contest()
    poll = poll_of(contest)
    client = _logged_in(sam)
    assert client.get(reverse("ballot", args=[poll.pk])).status_code == HTTPStatus.OK
    # ... but nothing else until they have set it up.
    assert client.get(reverse("contest", args=[contest.pk]))["Location"] == SETUP


def test_a_secretary_sets_up_totp_through_the_pages_and_then_signs_in_with_a_code(
    sam, make_contest
):
    contest = make_contest()
    client = Client()
    # A password alone gets an official in, but only as far as the setup page.
    login = client.post(reverse("account_login"), {"login": sam.email, "password": PASSWORD})
    assert login.status_code == HTTPStatus.FOUND
    assert client.get(login["Location"])["Location"] == SETUP
    schedule = reverse("schedule", args=[contest.pk])
    assert client.get(schedule)["Location"] == SETUP

    # allauth asks for the password again before adding a second factor, so
    # that a session left open on a shared computer cannot have one added.
    reauth = client.get(SETUP)
    assert reauth["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reauth["Location"], {"password": PASSWORD})
    setup = client.get(SETUP)
    assert setup.status_code == HTTPStatus.OK
    secret = client.session[SECRET_SESSION_KEY]
    wrong = client.post(SETUP, {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == HTTPStatus.OK
    assert not Authenticator.objects.filter(user=sam).exists()
    done = client.post(SETUP, {"code": totp_code(secret)})
    assert done.status_code == HTTPStatus.FOUND
    assert totp_secret(sam) == secret
    # Recovery codes come with it, for a lost phone.
    assert Authenticator.objects.filter(user=sam, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get(schedule).status_code == HTTPStatus.OK

    # From now on the password is not enough: the login asks for the code,
    # and a code is good once (allauth remembers it for its period).
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        fresh = Client()
        login = fresh.post(reverse("account_login"), {"login": sam.email, "password": PASSWORD})
        assert login["Location"] == reverse("mfa_authenticate")
        assert fresh.get(schedule).status_code == HTTPStatus.FOUND
        assert "_auth_user_id" not in fresh.session
        code = totp_code(secret)
        signed_in = fresh.post(reverse("mfa_authenticate"), {"code": code})
        assert signed_in.status_code == HTTPStatus.FOUND
        assert fresh.get(schedule).status_code == HTTPStatus.OK

        thief = Client()
        thief.post(reverse("account_login"), {"login": sam.email, "password": PASSWORD})
        replayed = thief.post(reverse("mfa_authenticate"), {"code": code})
        assert replayed.status_code == HTTPStatus.OK
        assert "_auth_user_id" not in thief.session


def test_the_admin_login_form_is_allauths_so_mfa_cannot_be_skipped(client, ada):
    response = client.get(reverse("admin:login"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))
    # Even a correct password posted to the admin's own form logs nobody in.
    client.post(reverse("admin:login"), {"username": ada.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_the_setup_page_is_offered_to_everyone(alice):
    client = _logged_in(alice)
    assert reverse("mfa_index") in client.get(reverse("home")).content.decode()
    assert client.get(reverse("mfa_index")).status_code == HTTPStatus.OK
