"""Start-up checks of the catalog's settings: a half-configured search engine fails fast,
naming the missing variable, instead of silently searching the database."""

from django.conf import settings
from django.core.checks import Error, register

ALGOLIA_KEYS = ("ALGOLIA_APP_ID", "ALGOLIA_SEARCH_KEY", "ALGOLIA_ADMIN_KEY")


@register()
def search_settings_check(app_configs, **kwargs) -> list:
    """Algolia needs all of its three keys (or none: then the database answers searches)."""
    missing = [name for name in ALGOLIA_KEYS if not getattr(settings, name)]
    if not missing or len(missing) == len(ALGOLIA_KEYS):
        return []
    return [
        Error(
            f"{name} is not set, but other ALGOLIA_* keys are; search would silently stay on "
            "the database.",
            hint="Set all of ALGOLIA_APP_ID, ALGOLIA_SEARCH_KEY and ALGOLIA_ADMIN_KEY, or "
            "none of them (see docs/operations.md).",
            id="marketplace.E001",
        )
        for name in missing
    ]
