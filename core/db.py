"""Model building blocks shared by every app."""

from django.db import models


class TimeStampedModel(models.Model):
    """Abstract base: when a row was created and last updated (timezone-aware, UTC)."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
