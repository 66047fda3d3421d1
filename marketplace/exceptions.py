"""Errors raised by marketplace services; their messages are safe to show to the member."""

from django.http import Http404


class MarketplaceError(Exception):
    """Base class for catalog rule violations (the view shows the message)."""


class ListingNotFound(Http404):
    """The listing does not exist or is not the caller's to change (answered as a 404)."""


class ListingStateError(MarketplaceError):
    """The listing's status does not allow this change (e.g. unpublishing a sold item)."""


class ListingNotPublishable(MarketplaceError):
    """A listing misses something it needs to go on sale (e.g. a photo)."""


class ListingImageError(MarketplaceError):
    """Too many photos, removing the last photo of a listing for sale, a bad reorder."""


class FavouriteError(MarketplaceError):
    """The listing cannot be saved (not visible to the shopper)."""


class ListingOutOfStock(MarketplaceError):
    """The listing is not on sale or has fewer units than asked for (raised by the stock
    services; the message, "Sorry, this item was just sold.", is for the buyer)."""


class ReportError(MarketplaceError):
    """A report without a target or reason, or one closed with an unknown status."""


class SearchEngineError(Exception):
    """The search engine (Algolia) failed or answered something unexpected; the message has
    the context for the log, never for a member (the caller falls back or retries later)."""


class SavedSearchError(MarketplaceError):
    """A search with no filter to save, or the member already keeps as many as allowed."""


class SavedSearchNotFound(Http404):
    """The saved search does not exist or is another member's (answered as a 404)."""


class FollowError(MarketplaceError):
    """Following yourself, or a member who can't be followed (banned, deactivated)."""
