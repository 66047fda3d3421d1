"""The audit log, suspicious activity and switches now belong to core, reports to
marketplace: ops forgets them (state only; core and marketplace own the tables)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0001_initial"),
        ("marketplace", "0003_report_moves_from_ops"),
        ("ops", "0002_ops_state_reports_incidents"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="AuditLog"),
                migrations.DeleteModel(name="SuspiciousActivity"),
                migrations.DeleteModel(name="Switch"),
                migrations.DeleteModel(name="Report"),
            ],
            database_operations=[],
        ),
    ]
