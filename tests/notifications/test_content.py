"""What each kind of notice says, in both parts of the email and the inbox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from elections.models import Contest, Notification, NotificationKind
from elections.notification_content import build_email, render_notification, subject_and_body

SITE = "https://teller.example.org"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def _notice(kind: str, contest: Contest, user, **context) -> Notification:  # type: ignore[no-untyped-def]
    poll = contest.current_poll()
    return Notification.objects.create(
        user=user, kind=kind, contest=contest, poll=poll, context=context, dedupe_key=kind
    )


@pytest.mark.django_db
@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_names_the_contest_and_links_to_it(kind, contest, alice):
    notice = _notice(kind, contest, alice)
    rendered = render_notification(notice)

    assert contest.title in rendered.subject and "\n" not in rendered.subject
    assert rendered.link.startswith(SITE)
    for part in (rendered.text, rendered.html):
        assert contest.title in part
        assert rendered.link in part
    if kind in (NotificationKind.BALLOT_OPEN, NotificationKind.REMINDER):
        expected = reverse("ballot", args=[notice.poll_id])
    elif kind == NotificationKind.COMPLAINT_RECEIVED:
        # Officials need not be members of the body: the office holds the record.
        expected = reverse("office:index")
    else:
        expected = reverse("contest", args=[contest.pk])
    assert rendered.link == SITE + expected


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [NotificationKind.INVITED, NotificationKind.RULING_ISSUED])
def test_a_notice_without_a_contest_links_to_the_inbox(kind, alice):
    notice = Notification.objects.create(user=alice, kind=kind, dedupe_key="x")
    rendered = render_notification(notice)
    assert rendered.link == SITE + reverse("inbox")
    assert rendered.link in rendered.text and rendered.link in rendered.html


@pytest.mark.django_db
def test_the_text_part_is_plain_and_the_html_part_is_escaped(contest, alice):
    contest.title = "O'Neill & <Partners> leader"
    contest.save(update_fields=["title"])
    rendered = render_notification(_notice(NotificationKind.RESULT_DECLARED, contest, alice))
    assert "O'Neill & <Partners> leader" in rendered.subject
    assert "O'Neill & <Partners> leader" in rendered.text
    assert "O&#x27;Neill &amp; &lt;Partners&gt; leader" in rendered.html
    assert "<Partners>" not in rendered.html


@pytest.mark.django_db
def test_it_uses_the_notices_small_facts(contest, alice):
    notice = _notice(
        NotificationKind.ROUND_SCHEDULED, contest, alice, round=2, excluded=["Cat Carter"]
    )
    subject, body = subject_and_body(notice)
    assert subject.startswith("Round 2 scheduled")
    assert "Excluded after the last round: Cat Carter." in body

    declared = _notice(NotificationKind.RESULT_DECLARED, contest, alice, elected="Ann Archer")
    assert "Elected: Ann Archer." in subject_and_body(declared)[1]


@pytest.mark.django_db
def test_the_email_has_both_parts_and_says_whether_it_can_be_switched_off(contest, alice):
    legal = build_email(_notice(NotificationKind.BALLOT_OPEN, contest, alice))
    assert legal.subject.startswith("[Teller] Your ballot is open")
    assert legal.to == [alice.email]
    assert legal.alternatives[0].mimetype == "text/html"
    assert "the rules require every member to receive" in legal.body
    assert legal.extra_headers["Auto-Submitted"] == "auto-generated"

    optional = build_email(_notice(NotificationKind.REMINDER, contest, alice))
    settings_link = SITE + reverse("notification_settings")
    assert settings_link in optional.body
    assert settings_link in optional.alternatives[0].content
