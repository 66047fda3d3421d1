"""`Listing.photos_revision`, moved by the database whenever a listing's photos change.

Triggers on marketplace_listingimage add one to the revision of every listing whose photos
a statement inserted, updated or deleted, whatever wrote them: the services, the admin's
inline, a bulk update, a cascade or plain SQL: one statement-level trigger per event, with
transition tables (one UPDATE of each listing per statement, not one per photo).

PostgreSQL only. SQLite, the embedded default, gets no trigger: a trigger there that names
marketplace_listing would make every later migration that rebuilds that table fail (SQLite
checks triggers when Django renames the rebuilt table into place), so on SQLite the listing
page keys its parts by the photos themselves (marketplace.listing_parts).
"""

from django.db import migrations, models

POSTGRESQL_FORWARD = [
    """
    CREATE FUNCTION marketplace_listing_photos_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        UPDATE marketplace_listing SET photos_revision = photos_revision + 1
         WHERE id IN (SELECT listing_id FROM new_photos);
      ELSIF TG_OP = 'UPDATE' THEN
        UPDATE marketplace_listing SET photos_revision = photos_revision + 1
         WHERE id IN (SELECT listing_id FROM new_photos UNION SELECT listing_id FROM old_photos);
      ELSE
        UPDATE marketplace_listing SET photos_revision = photos_revision + 1
         WHERE id IN (SELECT listing_id FROM old_photos);
      END IF;
      RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER listing_photos_inserted AFTER INSERT ON marketplace_listingimage
    REFERENCING NEW TABLE AS new_photos
    FOR EACH STATEMENT EXECUTE FUNCTION marketplace_listing_photos_changed()
    """,
    """
    CREATE TRIGGER listing_photos_updated AFTER UPDATE ON marketplace_listingimage
    REFERENCING OLD TABLE AS old_photos NEW TABLE AS new_photos
    FOR EACH STATEMENT EXECUTE FUNCTION marketplace_listing_photos_changed()
    """,
    """
    CREATE TRIGGER listing_photos_deleted AFTER DELETE ON marketplace_listingimage
    REFERENCING OLD TABLE AS old_photos
    FOR EACH STATEMENT EXECUTE FUNCTION marketplace_listing_photos_changed()
    """,
]
POSTGRESQL_BACKWARD = [
    "DROP TRIGGER IF EXISTS listing_photos_inserted ON marketplace_listingimage",
    "DROP TRIGGER IF EXISTS listing_photos_updated ON marketplace_listingimage",
    "DROP TRIGGER IF EXISTS listing_photos_deleted ON marketplace_listingimage",
    "DROP FUNCTION IF EXISTS marketplace_listing_photos_changed()",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0010_listing_facet_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="photos_revision",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(_run(POSTGRESQL_FORWARD), _run(POSTGRESQL_BACKWARD)),
    ]
