"""The inbox: a member's own notices, newest first, unread ones marked."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from elections.context_processors import notifications as nav_context
from elections.models import Notification, NotificationKind
from elections.notifications import notify, unread_count
from elections.views.inbox import PAGE_SIZE

URL = reverse("inbox")


@pytest.fixture
def alices_notices(contest, poll, alice):
    """Two notices for alice: the ballot opened, then (later) a ruling."""
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        notify([alice], NotificationKind.BALLOT_OPEN, contest=contest, poll=poll)
        clock.shift(timedelta(minutes=5))
        notify(
            [alice],
            NotificationKind.RULING_ISSUED,
            contest=contest,
            context={"reason": "Proxy votes are not allowed."},
            dedupe="ruling:1",
        )
    return contest


@pytest.mark.django_db
def test_it_lists_the_members_notices_newest_first_with_the_unread_count(
    client, alice, alices_notices
):
    contest = alices_notices
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assertContains(response, "2 unread notices")
    assert html.count('<span class="badge badge-open">New</span>') == 2
    assert html.index(f"Ruling issued: {contest.title}") < html.index(
        f"Your ballot is open: {contest.title}"
    )
    assertContains(response, "Proxy votes are not allowed.")
    # Links are the site's own pages: the ballot, the contest.
    assertContains(response, f'href="{reverse("ballot", args=[contest.current_poll().pk])}"')
    assertContains(response, f'href="{reverse("contest", args=[contest.pk])}"')


@pytest.mark.django_db
def test_opening_the_inbox_marks_its_notices_read(client, alice, alices_notices):
    client.force_login(alice)
    client.get(URL)

    assert unread_count(alice) == 0
    response = client.get(URL)
    assertContains(response, "No unread notices")
    assertNotContains(response, "badge-open")


@pytest.mark.django_db
def test_the_nav_shows_the_unread_count(client, alice, alices_notices):
    client.force_login(alice)
    assertContains(client.get(reverse("home")), "Inbox (2 unread)")
    client.get(URL)
    response = client.get(reverse("home"))
    assertContains(response, f'<a href="{URL}">Inbox</a>', html=True)


@pytest.mark.django_db
def test_the_inbox_page_counts_what_it_has_just_marked_read(client, alice, alices_notices):
    # The count came with the user at the start of the request; the page then
    # marks what it shows as read, and its own nav must not still say "2 unread".
    client.force_login(alice)
    response = client.get(URL)
    assertContains(response, f'<a href="{URL}">Inbox</a>', html=True)


@pytest.mark.django_db
def test_the_nav_count_costs_one_query(rf, alice, alices_notices, django_assert_num_queries):
    request = rf.get("/")
    request.user = alice
    count = nav_context(request)["unread_notifications"]
    with django_assert_num_queries(1):
        assert count() == 2
        assert count() == 2


@pytest.mark.django_db
def test_charlie_sees_none_of_alices_notices(client, charlie, alices_notices):
    client.force_login(charlie)
    response = client.get(URL)
    assert response.status_code == HTTPStatus.OK
    assertContains(response, "You have no notices yet")
    assertNotContains(response, alices_notices.title)
    assert Notification.objects.filter(read_at__isnull=False).count() == 0  # alice's untouched


@pytest.mark.django_db
def test_mark_all_read_reaches_past_the_first_page(client, contest, alice):
    for i in range(PAGE_SIZE + 5):
        notify([alice], NotificationKind.RULING_ISSUED, contest=contest, dedupe=f"ruling:{i}")
    client.force_login(alice)

    response = client.get(URL)
    assertContains(response, f"Mark all {PAGE_SIZE + 5} as read")
    assertContains(response, "Older notices")
    assert unread_count(alice) == 5

    response = client.post(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert unread_count(alice) == 0


@pytest.mark.django_db
def test_mark_all_read_touches_only_the_members_own(client, contest, alice, bob):
    notify([alice, bob], NotificationKind.RESULT_DECLARED, contest=contest)
    client.force_login(bob)
    client.post(URL)
    assert unread_count(alice) == 1 and unread_count(bob) == 0


def test_it_needs_a_login(client, db):
    response = client.get(URL)
    assert response.status_code == HTTPStatus.FOUND
    assert reverse("account_login") in response["Location"]


@pytest.mark.django_db
def test_the_inbox_costs_the_same_for_one_notice_or_many(
    client, contest, alice, django_assert_max_num_queries
):
    for i in range(20):
        notify([alice], NotificationKind.RULING_ISSUED, contest=contest, dedupe=f"ruling:{i}")
    client.force_login(alice)
    # Session, user, unread count, page count, the page, mark read, nav count:
    # none of it per notice.
    with django_assert_max_num_queries(9):
        assert client.get(URL).status_code == HTTPStatus.OK
