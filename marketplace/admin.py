from django.contrib import admin

from marketplace.models import Category, Favourite, Listing, ListingImage, SavedSearch
from marketplace.search.sync import category_listings_changed, listings_changed
from marketplace.selectors import category_path_names
from marketplace.services import category_listing_names_refresh


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["parent"]
    ordering = ["parent__id", "position", "name"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and {"name", "parent"} & set(form.changed_data):
            # Listings carry their category path's names for search, and their search
            # records (Algolia) the names and ancestors.
            category_listing_names_refresh(category_id=obj.pk)
            category_listings_changed(obj.pk)


class ListingImageInline(admin.TabularInline):
    model = ListingImage
    extra = 0
    fields = ["image", "position", "width", "height"]
    readonly_fields = ["width", "height"]


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "seller",
        "category",
        "price",
        "currency",
        "status",
        "condition",
        "is_hidden",
        "published_at",
        "deleted_at",
    ]
    list_filter = [
        "status",
        "condition",
        "is_hidden",
        ("category", admin.RelatedOnlyFieldListFilter),
    ]
    list_select_related = ["seller", "category"]
    search_fields = ["title", "brand", "seller__username", "seller__email"]
    raw_id_fields = ["seller"]
    autocomplete_fields = ["category"]
    readonly_fields = ["view_count", "created_at", "updated_at", "published_at"]
    date_hierarchy = "created_at"
    inlines = [ListingImageInline]
    show_full_result_count = False

    def save_model(self, request, obj, form, change) -> None:
        if not change or "category" in form.changed_data:
            obj.category_names = category_path_names(obj.category_id)
        super().save_model(request, obj, form, change)

    # Staff edits here bypass the services, so each one re-indexes what it touched.
    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        listings_changed([form.instance.pk])

    def delete_model(self, request, obj) -> None:
        pk = obj.pk
        super().delete_model(request, obj)
        listings_changed([pk])

    def delete_queryset(self, request, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        listings_changed(ids)


@admin.register(Favourite)
class FavouriteAdmin(admin.ModelAdmin):
    list_display = ["user", "listing", "created_at"]
    list_select_related = ["user", "listing"]
    raw_id_fields = ["user", "listing"]
    search_fields = ["user__username", "listing__title"]


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    """Read-mostly: staff can look a member's searches up and pause one (is_active)."""

    list_display = ["name", "user", "query", "is_active", "created_at", "last_notified_at"]
    list_filter = ["is_active"]
    list_select_related = ["user"]
    search_fields = ["name", "user__username", "user__email"]
    readonly_fields = ["user", "name", "query", "created_at", "updated_at", "last_notified_at"]
    ordering = ["user__username", "-created_at"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # members save searches from the browse page
