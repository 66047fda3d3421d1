from django.http import HttpRequest

from orders.selectors import cart_count


def cart(request: HttpRequest) -> dict:
    """`cart_count` for the header: a session read, or one aggregate query when signed in."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None:
        return {"cart_count": 0}
    return {"cart_count": cart_count(user=user, session=session)}
