"""Another URLconf for core.tests.test_template_urls: the same URL name at another path."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


urlpatterns = [path("elsewhere/help/", include(([path("", _view, name="index")], "help")))]
