from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        from orders import checks, receivers  # noqa: F401 - registers the check and receiver
