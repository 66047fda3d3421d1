from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile


class ProfileForm(forms.ModelForm):
    """Shape of the profile edit form; the avatar is validated by the image pipeline."""

    avatar = forms.FileField(
        label=_("Profile photo"),
        required=False,
        help_text=_(
            "JPEG, PNG or WebP. It is resized to at most 512 px and its location data removed."
        ),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my photo"), required=False)

    class Meta:
        model = Profile
        fields = ["display_name", "bio", "location", "holiday_mode"]
        labels = {
            "display_name": _("Display name"),
            "bio": _("About you"),
            "location": _("Location"),
            "holiday_mode": _("Holiday mode"),
        }
        help_texts = {
            "display_name": _("Shown on your shop and listings instead of your username."),
            "location": _("A city or region, e.g. Lyon. Never your address."),
            "holiday_mode": _("Your shop stays visible, but nobody can buy until you're back."),
        }
        widgets = {"bio": forms.Textarea(attrs={"rows": 5})}
