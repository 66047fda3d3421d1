"""Reports live with what is reported: the Report model moves from ops to marketplace.

The table ops created is adopted (state only) and renamed; no row is lost. Its content type
(and so permissions and admin history) follows the model.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label="marketplace", model="report").exists():
        ContentType.objects.using(db).filter(app_label="ops", model="report").update(
            app_label="marketplace"
        )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    ContentType.objects.using(db).filter(app_label="marketplace", model="report").update(
        app_label="ops"
    )


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("marketplace", "0002_listing_held_quantity"),
        ("ops", "0002_ops_state_reports_incidents"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Report",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("message_id", models.CharField(blank=True, max_length=64)),
                        ("reason", models.CharField(choices=[("counterfeit", "Counterfeit or replica"), ("prohibited", "Prohibited item"), ("scam", "Scam or fraud"), ("spam", "Spam"), ("offensive", "Offensive content"), ("message", "Abusive message"), ("other", "Other")], max_length=20)),
                        ("details", models.TextField(blank=True, max_length=2000)),
                        ("status", models.CharField(choices=[("open", "Open"), ("resolved", "Resolved"), ("dismissed", "Dismissed")], db_index=True, default="open", max_length=10)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        ("listing", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="reports", to="marketplace.listing")),
                        ("reported_user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="reports_received", to=settings.AUTH_USER_MODEL)),
                        ("reporter", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="reports_made", to=settings.AUTH_USER_MODEL)),
                        ("resolved_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "ops_report",
                        "ordering": ["created_at", "id"],
                        "constraints": [models.CheckConstraint(condition=models.Q(("listing__isnull", False), ("reported_user__isnull", False), models.Q(("message_id", ""), _negated=True), _connector="OR"), name="report_has_target"), models.CheckConstraint(condition=models.Q(("status__in", ["open", "resolved", "dismissed"])), name="report_status_known")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AlterModelTable(name="report", table=None),
    ]
