from django.contrib import admin

from marketplace.models import Category, Favourite, Listing, ListingImage, SavedSearch


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ["parent"]
    ordering = ["parent__id", "position", "name"]


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
