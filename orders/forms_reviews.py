"""Forms for reviews: they check the shape of the input; orders.services.reviews the rules."""

from django import forms

from orders.models import REVIEW_TEXT_MAX

STARS = [(n, f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)]


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(
        label="Your rating",
        choices=STARS,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose from 1 to 5 stars."},
    )
    text = forms.CharField(
        label="Your review",
        max_length=REVIEW_TEXT_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": REVIEW_TEXT_MAX}),
        help_text="How was the item, the packaging and the seller? Up to 2,000 characters.",
        error_messages={"required": "Write a few words for your review."},
    )


class ReplyForm(forms.Form):
    text = forms.CharField(
        label="Your reply",
        max_length=REVIEW_TEXT_MAX,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": REVIEW_TEXT_MAX}),
        help_text="You can reply once; buyers see it under the review.",
    )


class ReportForm(forms.Form):
    reason = forms.CharField(label="What's wrong with it?", max_length=500, required=False)
