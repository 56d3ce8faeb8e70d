"""Fixtures for the security tests.

Here officials are NOT given a second factor automatically (the shared
conftest's `_officials_enrolled_in_mfa` is overridden), because these tests
are about what happens before and after they set one up. Besides the shared
cast: rita, a regional official of Testshire, and ada, a site administrator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from accounts.models import User
from elections.models import Region, RegionalOfficial


@pytest.fixture
def _officials_enrolled_in_mfa() -> Iterator[None]:
    yield


@pytest.fixture
def rita(make_user: Callable[..., User], region: Region) -> User:
    user = make_user("Rita Regional")
    RegionalOfficial.objects.create(region=region, user=user)
    return user


@pytest.fixture
def ada(make_user: Callable[..., User]) -> User:
    return make_user("Ada Admin", is_staff=True, is_superuser=True)
