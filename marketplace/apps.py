from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"

    def ready(self) -> None:
        from marketplace import checks, signals  # noqa: F401 - registers the check and receivers
        from marketplace.page_cache import register_hooks

        register_hooks()
