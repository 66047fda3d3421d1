"""Domain errors of the messaging app; every message is safe to show to the member."""


class MessagingError(Exception):
    """Base class: a rule of messaging said no."""

    default_message = "That can't be done."

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message


class ConversationNotAllowed(MessagingError):
    """A conversation can't be started (own item, item gone, a block, a banned member)."""

    default_message = "You can't message this member about this item."


class MessageRefused(MessagingError):
    """A message can't be sent (empty, too long, closed conversation, a block, a ban)."""

    default_message = "Your message could not be sent."


class RateLimited(MessagingError):
    default_message = "You're sending messages too fast. Wait a minute and try again."

    def __init__(self, message: str = "", *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotParticipant(MessagingError):
    """The member is not the buyer or the seller of the conversation (views answer 404)."""

    default_message = "No such conversation."


class ReportError(MessagingError):
    default_message = "The report could not be filed."
