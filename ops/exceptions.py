class OpsError(Exception):
    """Base for ops domain errors; messages are safe to show to staff."""


class ModerationError(OpsError):
    pass
