"""Input shapes for the orders views; business rules live in services."""

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator

from orders.models import Address, Order

COUNTRIES = [
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("DE", "Germany"),
    ("DK", "Denmark"),
    ("ES", "Spain"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("LU", "Luxembourg"),
    ("NL", "Netherlands"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("SE", "Sweden"),
    ("US", "United States"),
]

phone_validator = RegexValidator(
    r"^\+?[0-9 ()-]{6,20}$", "Enter a phone number of 6 to 20 digits, e.g. +44 20 7946 0000."
)
postcode_validator = RegexValidator(
    r"^[A-Za-z0-9 -]{2,10}$", "Enter a postcode of 2 to 10 letters, numbers, spaces or dashes."
)


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=999, initial=1)


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=999, initial=1, required=False)
    # Only on the cart page's "?add=" confirmation (see views.cart).
    add = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)


class AddressForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=100)
    line1 = forms.CharField(label="Address line 1", max_length=120)
    line2 = forms.CharField(label="Address line 2 (optional)", max_length=120, required=False)
    city = forms.CharField(label="Town or city", max_length=80)
    postcode = forms.CharField(label="Postcode", max_length=10, validators=[postcode_validator])
    country = forms.ChoiceField(label="Country", choices=[("", "Choose a country"), *COUNTRIES])
    phone = forms.CharField(
        label="Phone (for the carrier)", max_length=20, validators=[phone_validator]
    )

    AUTOCOMPLETE = {
        "full_name": "name",
        "line1": "address-line1",
        "line2": "address-line2",
        "city": "address-level2",
        "postcode": "postal-code",
        "country": "country",
        "phone": "tel",
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, value in self.AUTOCOMPLETE.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["phone"].widget.input_type = "tel"


class CheckoutForm(forms.Form):
    """Pick a saved address or enter a new one."""

    address = forms.ModelChoiceField(
        queryset=Address.objects.none(),
        required=False,
        empty_label=None,
        widget=forms.RadioSelect,
        label="Ship to",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = Address.objects.filter(user=user)
        self.fields["address"].label_from_instance = lambda a: ", ".join(a.as_lines())


class ShipForm(forms.Form):
    carrier = forms.CharField(label="Carrier", max_length=60)
    tracking_number = forms.CharField(label="Tracking number", max_length=100)


class RefundForm(forms.Form):
    reason = forms.CharField(label="Reason (shown to the buyer)", max_length=255, required=False)


class SalesFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        label="State",
        choices=[("", "All")] + [c for c in Order.Status.choices if c[0] != "pending_payment"],
    )


def _amount_field(label: str, *, required: bool = True) -> forms.DecimalField:
    field = forms.DecimalField(
        label=label,
        required=required,
        min_value=Decimal("0.01"),
        max_value=Decimal("100000.00"),
        max_digits=10,
        decimal_places=2,
    )
    field.widget.attrs.update({"inputmode": "decimal", "step": "0.01"})
    return field


class OfferForm(forms.Form):
    """An amount offered (by a buyer, or by a seller to the members who saved an item)."""

    amount = _amount_field("Your offer")


class OfferRespondForm(forms.Form):
    """An answer to an offer; `amount` only for a counter-offer."""

    action = forms.ChoiceField(
        choices=[
            ("accept", "Accept"),
            ("decline", "Decline"),
            ("counter", "Counter"),
            ("withdraw", "Withdraw"),
        ]
    )
    amount = _amount_field("Counter-offer", required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "counter" and data.get("amount") is None and not self.errors:
            self.add_error("amount", "Enter the amount of your counter-offer.")
        return data
