"""URLs for tests/test_page_cache.py: a cacheable view whose page carries a CSRF token."""

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import path

from core.page_cache import cacheable, cacheable_view


@cacheable_view
def form_page(request: HttpRequest) -> HttpResponse:
    token = get_token(request)
    return cacheable(HttpResponse(f'<input name="csrfmiddlewaretoken" value="{token}">'), tags=[])


urlpatterns = [path("form/", form_page)]
