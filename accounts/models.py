from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.db import TimeStampedModel
from core.webhooks import StoredWebhookEvent

handle_validator = RegexValidator(
    r"^[a-zA-Z0-9_.-]{3,30}$",
    _("Use 3 to 30 letters, numbers, dots, dashes or underscores."),
)


class User(AbstractUser):
    """A Threadly member. Signs in with email; `username` is the public handle used in URLs."""

    username = models.CharField(
        _("username"),
        max_length=30,
        unique=True,
        validators=[handle_validator],
        help_text=_("Your public handle, shown on your shop: 3 to 30 letters, numbers, . - _"),
        error_messages={"unique": _("That username is taken.")},
    )
    email = models.EmailField(_("email address"), unique=True)
    # Id of the user at the external identity provider (Clerk-style webhook), if any.
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    is_seller = models.BooleanField(default=False)
    # Moderation: a banned user cannot sign in and their listings are hidden.
    is_banned = models.BooleanField(default=False, db_index=True)

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    def get_absolute_url(self) -> str:
        return reverse("marketplace:seller", kwargs={"username": self.username})


def avatar_upload_to(instance: "Profile", filename: str) -> str:
    # The name is chosen by core.images (random); keep only its basename.
    return f"avatars/{filename.rsplit('/', 1)[-1]}"


class Profile(TimeStampedModel):
    """Public profile of a member, one per user."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(max_length=60, blank=True)
    bio = models.TextField(max_length=1000, blank=True)
    avatar = models.ImageField(upload_to=avatar_upload_to, blank=True)
    location = models.CharField(max_length=80, blank=True)
    # A seller on holiday keeps their shop visible but their items cannot be bought.
    holiday_mode = models.BooleanField(default=False)
    # The seller's rating from the visible reviews of their sales, written only by
    # accounts.services.profile_rating_set (orders recomputes it): cards and shop pages read
    # it from the profile they already join, with no query of their own.
    rating_count = models.PositiveIntegerField(default=0)
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(rating_count=0, rating_average__isnull=True)
                    | models.Q(rating_count__gt=0, rating_average__gte=1, rating_average__lte=5)
                ),
                name="profile_rating_consistent",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.user.username

    @property
    def name(self) -> str:
        return self.display_name or self.user.username


class AuthWebhookEvent(StoredWebhookEvent):
    """One delivery from the identity provider's webhook, kept so a retry is applied once
    (core.webhooks). Its columns are narrower than the base's (the table predates it)."""

    event_id = models.CharField(max_length=100, unique=True)
    event_type = models.CharField(max_length=64)


class EmailKind(models.TextChoices):
    """Kinds of notification email a member can turn off one by one (account and order
    emails are not optional and have no kind)."""

    SAVED_SEARCHES = "saved_searches", _("New items for your saved searches")
    MESSAGES = "messages", _("Unread messages")
    OFFERS = "offers", _("Offers")
    REVIEWS = "reviews", _("Reviews")
    FOLLOWERS = "followers", _("New followers")
    PRICE_DROPS = "price_drops", _("Price drops on items you saved")


class EmailOptOut(models.Model):
    """A member turned off one kind of notification email (by unsubscribe link or setting)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_opt_outs")
    kind = models.CharField(max_length=30, choices=EmailKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_opt_out_once"),
            models.CheckConstraint(
                condition=models.Q(kind__in=EmailKind.values), name="email_opt_out_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ✕ {self.kind}"
