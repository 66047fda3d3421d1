# Placeholder views: replaced by the catalog work (browse, detail, listing forms).
from django.http import HttpResponse


def home(request):
    return HttpResponse("Threadly")


browse = category = listing_create = listing_detail = seller = home
