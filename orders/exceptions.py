"""Domain errors of the orders app; every message is safe to show to the user."""


class OrdersError(Exception):
    """Base class: a business rule said no."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message

    default_message = "That can't be done."


class ListingUnavailable(OrdersError):
    default_message = "Sorry, this item was just sold."


class CartError(OrdersError):
    default_message = "Your cart could not be updated."


class CheckoutError(OrdersError):
    default_message = "Checkout could not start."


class IllegalTransition(OrdersError):
    default_message = "That isn't possible for this order right now."


class NotAllowed(OrdersError):
    default_message = "You can't do that."


class IntegrationError(OrdersError):
    """A payment provider failed or answered unexpectedly (details in `context`)."""

    default_message = "The payment provider could not be reached. Please try again."

    def __init__(self, message: str = "", *, context: dict | None = None) -> None:
        super().__init__(message)
        self.context = context or {}


class WebhookSignatureError(OrdersError):
    """A payment webhook delivery that is unsigned, forged or too old: answer 400, store
    nothing."""

    default_message = "Invalid signature."


class MalformedWebhook(OrdersError):
    """A correctly signed payment webhook delivery that is not an event we can read (not an
    object, no id or data, an id too long to store, a field of the wrong type): answer 400,
    store nothing."""

    default_message = "Malformed event."


class ReviewError(OrdersError):
    """A review rule said no (not completed, not the buyer, already reviewed, edit window
    over, already replied...)."""

    default_message = "That can't be done with this review."


class OfferError(OrdersError):
    """An offer can't be made or answered (the floor, its state, who acts, the item sold)."""

    default_message = "That isn't possible for this offer right now."


class OfferNotFound(OfferError):
    """The offer does not exist or is not the member's (answered as a 404)."""

    default_message = "No such offer."
