# Placeholder views: replaced by the accounts work (dashboard, profile).
from django.http import HttpResponse


def dashboard(request):
    return HttpResponse("My Threadly")
