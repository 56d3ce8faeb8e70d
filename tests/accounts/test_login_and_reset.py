"""Logging in by email, no public sign-up, and password reset by email."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_it_logs_a_councillor_in_by_email_and_shows_their_contests(client, alice, make_contest):
    contest = make_contest()
    response = client.post(
        reverse("account_login"), {"login": alice.email.upper(), "password": PASSWORD}, follow=True
    )
    assert response.status_code == HTTPStatus.OK
    assert response.wsgi_request.user == alice
    assert contest.title in response.content.decode()


@pytest.mark.django_db
def test_it_refuses_a_wrong_password(client, alice):
    response = client.post(reverse("account_login"), {"login": alice.email, "password": "nope"})
    assert response.status_code == HTTPStatus.OK
    assert not response.wsgi_request.user.is_authenticated
    assert "not correct" in response.content.decode()


@pytest.mark.django_db
def test_it_has_no_public_sign_up(client):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "eve@example.org",
            "password1": "x-Strong-pass-99",
            "password2": "x-Strong-pass-99",
        },
    )
    assert "closed" in response.content.decode().lower()
    assert not User.objects.filter(email="eve@example.org").exists()


@pytest.mark.django_db
def test_it_sends_the_home_page_visitor_to_log_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_it_resets_a_password_by_email(client, alice, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": alice.email})
    assert response.status_code == HTTPStatus.FOUND
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [alice.email]
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", message.body)
    assert link, message.body
    form = client.get(link.group(1), follow=True)
    assert form.status_code == HTTPStatus.OK
    new = "a-brand-new-password-42"
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link.group(1),
        {"password1": new, "password2": new},
    )
    assert done.status_code == HTTPStatus.FOUND
    client.logout()
    assert client.login(email=alice.email, password=new)
    alice.refresh_from_db()
    assert alice.check_password(new)


@pytest.mark.django_db
def test_the_login_page_labels_its_fields_and_offers_no_sign_up(client):
    page = client.get(reverse("account_login")).content.decode()
    assert '<label for="id_login"' in page
    assert '<label for="id_password"' in page
    assert "sign up" not in page.lower()
    assert "secretary" in page
