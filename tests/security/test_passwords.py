"""Passwords are hashed with Argon2; older hashes are upgraded at login."""

from __future__ import annotations

import pytest
from django.conf import settings as project_settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROJECT_HASHERS = list(project_settings.PASSWORD_HASHERS)


def test_argon2_comes_first():
    assert PROJECT_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_a_new_password_is_hashed_with_argon2(alice, settings):
    # The suite's autouse fixture swaps in a fast hasher; this test wants the real list.
    settings.PASSWORD_HASHERS = PROJECT_HASHERS
    alice.set_password("a-brand-new-password-2")
    alice.save()
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$argon2id$")
    assert alice.check_password("a-brand-new-password-2")


def test_an_older_hash_is_upgraded_to_argon2_at_login(make_user, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        *PROJECT_HASHERS,
    ]
    user = make_user("Pat Older")
    assert user.password.startswith("pbkdf2_sha256$")
    settings.PASSWORD_HASHERS = PROJECT_HASHERS
    client = Client()
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert User.objects.get(pk=user.pk).password.startswith("argon2$")
