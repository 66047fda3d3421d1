"""The control messaging contributes to catalog pages, so the catalog's templates never name
messaging's URLs: `{% load message_controls %}{% message_controls listing %}`."""

from django import template

from marketplace.models import Listing

register = template.Library()


@register.inclusion_tag("messaging/_message_controls.html", takes_context=True)
def message_controls(context: template.Context, listing: Listing) -> dict:
    """ "Message seller" (a POST that opens or starts the conversation) for signed-in members
    on others' listings, a log-in link for visitors, nothing on one's own. No query: the
    rules (blocks, an item no longer visible) answer when it is pressed."""
    request = context["request"]
    user = request.user
    signed_in = user.is_authenticated
    return {
        "listing": listing,
        "show": not (signed_in and user.pk == listing.seller_id),
        "signed_in": signed_in,
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
