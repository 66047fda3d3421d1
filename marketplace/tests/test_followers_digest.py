"""The daily "new followers" digest: one email per seller per day, only followers not yet
announced, nothing for sellers who turned it off; the command is safe to run again."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import EmailKind
from accounts.services import email_opt_out
from accounts.tests.factories import UserFactory
from marketplace.models import Follow, FollowerDigest
from marketplace.services import follow_add, followers_digest_send
from ops.jobs import SCHEDULE

pytestmark = pytest.mark.django_db


def run(django_capture_on_commit_callbacks, **kwargs) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return followers_digest_send(**kwargs)


def test_digest_names_the_new_followers_with_links(django_capture_on_commit_callbacks, seller):
    """ "3 people started following you", each linked, with the unsubscribe link."""
    fans = [UserFactory(username=f"fan{n}") for n in range(3)]
    for fan in fans:
        follow_add(follower=fan, seller_id=seller.pk)
    assert run(django_capture_on_commit_callbacks) == 1
    (message,) = mail.outbox
    assert message.to == [seller.email]
    assert message.subject == "3 people started following you"
    for fan in fans:
        assert f"/members/{fan.username}/" in message.body
    assert "/email/unsubscribe/" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")


def test_digest_runs_once_a_day_and_only_announces_new_followers(
    django_capture_on_commit_callbacks, seller
):
    """Running again the same day sends nothing (even with a newer follower); the next day
    only the followers not announced yet are named."""
    first = UserFactory(username="first.fan")
    follow_add(follower=first, seller_id=seller.pk)
    run(django_capture_on_commit_callbacks)
    second = UserFactory(username="second.fan")
    follow_add(follower=second, seller_id=seller.pk)
    assert run(django_capture_on_commit_callbacks) == 0
    assert len(mail.outbox) == 1
    tomorrow = timezone.now() + timedelta(days=1)
    assert run(django_capture_on_commit_callbacks, now=tomorrow) == 1
    assert run(django_capture_on_commit_callbacks, now=tomorrow) == 0
    latest = mail.outbox[-1]
    assert latest.subject == "second.fan started following you"
    assert "first.fan" not in latest.body
    assert FollowerDigest.objects.filter(seller=seller).count() == 2


def test_opted_out_seller_gets_no_digest_and_no_backlog(django_capture_on_commit_callbacks, seller):
    """No email after opting out; those follows are not announced later either."""
    email_opt_out(user=seller, kind=EmailKind.FOLLOWERS)
    follow_add(follower=UserFactory(), seller_id=seller.pk)
    assert run(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
    assert not Follow.objects.filter(digested_at__isnull=True).exists()


def test_one_email_per_seller(django_capture_on_commit_callbacks):
    """Two sellers with followers get one email each."""
    a, b = UserFactory(), UserFactory()
    for fan in UserFactory.create_batch(2):
        follow_add(follower=fan, seller_id=a.pk)
        follow_add(follower=fan, seller_id=b.pk)
    assert run(django_capture_on_commit_callbacks) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([a.email, b.email])


def test_command_and_worker_schedule(django_capture_on_commit_callbacks, seller):
    """`manage.py followers_digest` sends the digest; the worker runs it hourly."""
    follow_add(follower=UserFactory(), seller_id=seller.pk)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("followers_digest", verbosity=0)
    assert len(mail.outbox) == 1
    assert ("followers_digest", 60, ()) in SCHEDULE
