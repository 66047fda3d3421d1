"""The kernel's tables (from ops to core) and reports (to marketplace) move without losing a
row, a permission or a sequence."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("ops", "0002_ops_state_reports_incidents"),
    ("marketplace", "0002_listing_held_quantity"),
    ("core", None),
]
AUTH = ("auth", "0012_alter_user_first_name_max_length")
AFTER = [
    ("ops", "0003_kernel_and_reports_move_out"),
    ("marketplace", "0003_report_moves_from_ops"),
    ("core", "0001_initial"),
]


@pytest.mark.django_db(transaction=True)
def test_existing_rows_and_permissions_follow_the_models_to_core_and_marketplace():
    """Rows written under ops before the move are read through core and marketplace after it,
    permissions keep their content type, and new rows get fresh ids."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state([*BEFORE[:2], AUTH]).apps
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    audit_type, _ = ContentType.objects.get_or_create(app_label="ops", model="auditlog")
    report_type, _ = ContentType.objects.get_or_create(app_label="ops", model="report")
    permission = Permission.objects.create(
        name="Can view audit log (old)", codename="view_auditlog_old", content_type=audit_type
    )
    User = old.get_model("accounts", "User")
    member = User.objects.create(username="reported", email="reported@example.test")
    entry = old.get_model("ops", "AuditLog").objects.create(action="before.move", actor=member)
    old.get_model("ops", "Switch").objects.create(name="maintenance", enabled=True)
    old.get_model("ops", "SuspiciousActivity").objects.create(
        kind="login_lockout_ip", ip_address="203.0.113.9"
    )
    report = old.get_model("ops", "Report").objects.create(reported_user=member, reason="scam")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state([*AFTER, AUTH]).apps
    AuditLog = new.get_model("core", "AuditLog")
    assert AuditLog.objects.get(pk=entry.pk).action == "before.move"
    assert new.get_model("core", "Switch").objects.get(name="maintenance").enabled
    assert new.get_model("core", "SuspiciousActivity").objects.count() == 1
    moved = new.get_model("marketplace", "Report").objects.get(pk=report.pk)
    assert moved.reported_user_id == member.pk
    assert AuditLog.objects.create(action="after.move").pk > entry.pk
    NewContentType = new.get_model("contenttypes", "ContentType")
    assert NewContentType.objects.get(pk=audit_type.pk).app_label == "core"
    assert NewContentType.objects.get(pk=report_type.pk).app_label == "marketplace"
    NewPermission = new.get_model("auth", "Permission")
    assert NewPermission.objects.get(pk=permission.pk).content_type.app_label == "core"
    tables = connection.introspection.table_names()
    assert "core_auditlog" in tables
    assert "ops_auditlog" not in tables
    assert "marketplace_report" in tables
    assert "ops_report" not in tables

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
