from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import AuthWebhookEvent, Profile, User
from accounts.selectors import profile_for


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ["display_name", "bio", "location", "holiday_mode", "avatar"]
    extra = 1
    max_num = 1


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [ProfileInline]
    list_display = [
        "username",
        "email",
        "is_seller",
        "is_staff",
        "is_banned",
        "is_active",
        "date_joined",
    ]
    list_filter = ["is_staff", "is_seller", "is_banned", "is_active", "is_superuser"]
    search_fields = ["email", "username", "external_id", "first_name", "last_name"]
    ordering = ["-date_joined"]
    readonly_fields = ["external_id", "last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "email", "password", "external_id"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name"]}),
        (_("Marketplace"), {"fields": ["is_seller", "is_banned"]}),
        (
            _("Permissions"),
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        (_("Important dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "email", "password1", "password2"],
            },
        )
    ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The inline is optional in the add form: make sure the profile exists either way.
        profile_for(form.instance)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "location", "holiday_mode", "created_at"]
    list_filter = ["holiday_mode"]
    search_fields = ["user__username", "user__email", "display_name"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    # Kept by the reviews (accounts.services.profile_rating_set), never typed in.
    readonly_fields = ["rating_count", "rating_average"]


@admin.register(AuthWebhookEvent)
class AuthWebhookEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "received_at"]
    list_filter = ["event_type"]
    search_fields = ["event_id"]
    readonly_fields = ["event_id", "event_type", "received_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
