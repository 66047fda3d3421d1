"""Admin: read-only audit log, moderation actions and the report queue, all audited."""

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.exceptions import BanNotAllowed
from accounts.models import User
from accounts.services import user_set_banned
from accounts.tests.factories import UserFactory
from core.audit import audit_log
from core.models import AuditLog, SuspiciousActivity, Switch
from marketplace.exceptions import ReportError
from marketplace.models import Listing, Report
from marketplace.services import moderation
from ops.admin import attach_moderation_actions
from ops.tests.factories import make_listing

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    client.staff = staff
    return client


def test_audit_log_is_read_only_in_admin(staff_client):
    """Staff can list and view audit entries but not add, change or delete them."""
    entry = audit_log(action="order.shipped", actor=staff_client.staff)
    changelist = staff_client.get(reverse("admin:core_auditlog_changelist"))
    assert changelist.status_code == 200
    assert b"order.shipped" in changelist.content
    assert b"delete_selected" not in changelist.content
    assert staff_client.get(reverse("admin:core_auditlog_add")).status_code == 403
    delete_url = reverse("admin:core_auditlog_delete", args=[entry.pk])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    change_url = reverse("admin:core_auditlog_change", args=[entry.pk])
    staff_client.post(change_url, {"action": "tampered"})
    entry.refresh_from_db()
    assert entry.action == "order.shipped"


def test_ban_hides_listings_and_unban_restores_them_audited():
    """Banning a member hides their listings from the catalogue; both actions are audited."""
    staff = UserFactory(is_staff=True)
    listing = make_listing()
    seller = listing.seller
    user_set_banned(user_id=seller.pk, banned=True, actor=staff, reason="scam")
    assert not Listing.objects.visible().filter(pk=listing.pk).exists()
    user_set_banned(user_id=seller.pk, banned=False, actor=staff)
    assert Listing.objects.visible().filter(pk=listing.pk).exists()
    actions = list(
        AuditLog.objects.filter(target_id=str(seller.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["user.banned", "user.unbanned"]


def test_staff_cannot_be_banned():
    """Banning a staff member is refused with a message."""
    with pytest.raises(BanNotAllowed, match="staff"):
        user_set_banned(
            user_id=UserFactory(is_staff=True).pk, banned=True, actor=UserFactory(is_staff=True)
        )


def test_hide_and_restore_listing_audited():
    """Hide/restore flips is_hidden and writes one audit entry each."""
    staff = UserFactory(is_staff=True)
    listing = make_listing()
    moderation.listing_set_hidden(listing_id=listing.pk, hidden=True, actor=staff)
    moderation.listing_set_hidden(listing_id=listing.pk, hidden=True, actor=staff)  # no-op
    assert not Listing.objects.visible().filter(pk=listing.pk).exists()
    moderation.listing_set_hidden(listing_id=listing.pk, hidden=False, actor=staff)
    assert Listing.objects.visible().filter(pk=listing.pk).exists()
    assert AuditLog.objects.filter(action="listing.hidden").count() == 1
    assert AuditLog.objects.filter(action="listing.restored", actor=staff).count() == 1


def test_report_queue_bulk_act_hides_listing_and_resolves(staff_client):
    """Bulk "act on reports" hides reported listings, bans reported members, resolves them."""
    listing = make_listing()
    bad_member = UserFactory()
    r1 = moderation.report_create(reporter=UserFactory(), reason="counterfeit", listing=listing)
    r2 = moderation.report_create(reporter=None, reason="scam", reported_user=bad_member)
    queue = staff_client.get(reverse("admin:marketplace_report_changelist"))
    assert queue.status_code == 200
    assert listing.title.encode() in queue.content
    response = staff_client.post(
        reverse("admin:marketplace_report_changelist") + "?status__exact=open",
        {"action": "act_on_reports", "_selected_action": [r1.pk, r2.pk]},
    )
    assert response.status_code == 302
    listing.refresh_from_db()
    bad_member.refresh_from_db()
    assert listing.is_hidden
    assert bad_member.is_banned
    assert set(Report.objects.values_list("status", flat=True)) == {"resolved"}
    assert AuditLog.objects.filter(action="report.resolved", actor=staff_client.staff).count() == 2


def test_dismiss_reports_bulk_action(staff_client):
    """Dismissing leaves the target alone and closes the report, audited."""
    listing = make_listing()
    report = moderation.report_create(reporter=None, reason="spam", listing=listing)
    staff_client.post(
        reverse("admin:marketplace_report_changelist") + "?status__exact=open",
        {"action": "dismiss_reports", "_selected_action": [report.pk]},
    )
    report.refresh_from_db()
    listing.refresh_from_db()
    assert report.status == "dismissed"
    assert not listing.is_hidden
    assert AuditLog.objects.filter(action="report.dismissed").exists()


def test_report_needs_a_target():
    """A report about nothing is refused."""
    with pytest.raises(ReportError, match="needs"):
        moderation.report_create(reporter=None, reason="spam")


def test_user_and_listing_admins_get_moderation_actions():
    """When User/Listing admins are registered, ops adds ban/hide actions to them."""
    site = admin.AdminSite(name="ops-test")
    site.register(User)
    site.register(Listing)
    attach_moderation_actions(site)
    user_actions = [getattr(a, "__name__", a) for a in site._registry[User].actions]
    listing_actions = [getattr(a, "__name__", a) for a in site._registry[Listing].actions]
    assert {"ban_users", "unban_users"} <= set(user_actions)
    assert {"hide_listings", "restore_listings"} <= set(listing_actions)


def test_suspicious_activity_listed_and_lock_lifted_from_admin(staff_client, settings):
    """Staff see lock-outs in admin and can lift one; both audited."""
    from core import lockout

    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS):
        lockout.record_failure(identifier="victim@example.test", ip="")
    activity = SuspiciousActivity.objects.get()
    page = staff_client.get(reverse("admin:core_suspiciousactivity_changelist"))
    assert b"victim@example.test" in page.content
    staff_client.post(
        reverse("admin:core_suspiciousactivity_changelist"),
        {"action": "lift_lock", "_selected_action": [activity.pk]},
    )
    assert lockout.seconds_locked(identifier="victim@example.test") == 0
    assert AuditLog.objects.filter(action="security.lock_lifted").exists()


def test_admin_switch_toggles_maintenance(staff_client, client):
    """The admin action turns maintenance mode on, audited."""
    staff_client.get(reverse("admin:core_switch_changelist"))
    switch = Switch.objects.get(name="maintenance")
    staff_client.post(
        reverse("admin:core_switch_changelist"),
        {"action": "maintenance_on", "_selected_action": [switch.pk]},
    )
    switch.refresh_from_db()
    assert switch.enabled
    assert AuditLog.objects.filter(action="ops.maintenance_on", actor=staff_client.staff).exists()


def test_ban_and_hide_actions_work_in_the_real_admin(staff_client):
    """The User and Listing admins carry ops' ban/hide actions, audited with the staff actor."""
    listing = make_listing()
    seller = listing.seller
    staff_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "ban_users", "_selected_action": [seller.pk]},
    )
    staff_client.post(
        reverse("admin:marketplace_listing_changelist"),
        {"action": "hide_listings", "_selected_action": [listing.pk]},
    )
    seller.refresh_from_db()
    listing.refresh_from_db()
    assert seller.is_banned
    assert listing.is_hidden
    assert AuditLog.objects.filter(action="user.banned", actor=staff_client.staff).exists()
    assert AuditLog.objects.filter(action="listing.hidden", actor=staff_client.staff).exists()
