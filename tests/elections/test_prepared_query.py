"""config.prepared: a query compiled once gives what the ORM gives, for any ids."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from config.prepared import PreparedQuery
from elections.models import Membership


def _members_of(body_id: int, user_id: int):  # type: ignore[no-untyped-def]
    return User.objects.filter(pk=user_id).annotate(
        in_body=Exists(Membership.objects.filter(user=OuterRef("pk"), body_id=body_id))
    )


@pytest.mark.django_db
def test_it_answers_as_the_orm_does_for_each_set_of_ids(alice, charlie, body, other_body):
    prepared = PreparedQuery(_members_of, "body_id", "user_id")
    for user in (alice, charlie):
        for b in (body, other_body):
            [expected] = _members_of(b.pk, user.pk)
            [got] = prepared.run(body_id=b.pk, user_id=user.pk)
            assert (got.pk, got.in_body) == (expected.pk, expected.in_body)
            assert got.email == user.email
    assert list(prepared.run(body_id=body.pk, user_id=-1)) == []


@pytest.mark.django_db
def test_it_refuses_an_id_that_never_reaches_the_sql():
    prepared = PreparedQuery(
        lambda user_id, unused: User.objects.filter(pk=user_id), "user_id", "unused"
    )
    with pytest.raises(ValueError, match="unused"):
        list(prepared.run(user_id=1, unused=2))


@pytest.mark.django_db
@pytest.mark.postgres
def test_for_share_locks_the_rows_on_postgres(alice):
    prepared = PreparedQuery(
        lambda user_id: User.objects.filter(pk=user_id), "user_id", for_share=True
    )
    with CaptureQueriesContext(connection) as queries:
        assert [u.pk for u in prepared.run(user_id=alice.pk)] == [alice.pk]
    assert queries.captured_queries[-1]["sql"].endswith('FOR SHARE OF "accounts_user"')
