"""Forms check the shape of input; the services enforce the catalog's rules."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.images import ProcessedImage, check_request_budget, process_image
from core.widgets import FastSelect
from marketplace import selectors
from marketplace.exceptions import ListingImageError
from marketplace.models import MAX_PRICE, MIN_PRICE, Category, Listing, ListingImage
from marketplace.search.base import SORTS, Facet, ListingFilters
from marketplace.services.images import images_check_count
from marketplace.services.listings import ListingDetails, held_quantity_message

MAX_SHIPPING = Decimal("1000.00")
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


class CatalogForm(forms.Form):
    """Labels without the trailing colon, as the design shows them."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that lets the browser pick several files (Django docs pattern)."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": IMAGE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None) -> list:
        single_file_clean = super().clean
        if isinstance(data, list | tuple) and data:
            files = [single_file_clean(item, initial) for item in data]
        else:  # nothing chosen: the single-file clean raises "required" when it must
            files = [single_file_clean(data or None, initial)]
        return [f for f in files if f]


def process_uploads(files: list, *, already: int = 0) -> list[ProcessedImage]:
    """Validate and re-encode every upload, one at a time; one error per bad file, naming it.

    The count and the request's pixel budget are checked first, from the headers alone.
    """
    try:  # before re-encoding anything: the service checks again under the listing lock
        images_check_count(existing=already, adding=len(files))
    except ListingImageError as error:
        raise ValidationError(str(error), code="too_many_images") from error
    check_request_budget(files)
    processed, errors = [], []
    for upload in files:
        try:
            processed.append(process_image(upload))
        except ValidationError as error:
            errors.extend(
                ValidationError(
                    _("“%(name)s”: %(message)s") % {"name": upload.name, "message": message},
                    code="bad_image",
                )
                for message in error.messages
            )
    if errors:
        raise ValidationError(errors)
    return processed


class CategoryChoiceField(forms.TypedChoiceField):
    """A select of the whole category tree ("Women › Tops"), cleaned to a Category."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            choices=lambda: [("", _("Choose a category")), *selectors.category_choices()],
            coerce=int,
            **kwargs,
        )

    def clean(self, value):
        pk = super().clean(value)
        if pk in (None, ""):
            return None
        category = Category.objects.filter(pk=pk).first()
        if category is None:
            raise ValidationError(_("Choose a category from the list."), code="invalid_choice")
        return category


class ListingForm(CatalogForm):
    title = forms.CharField(
        label=_("Title"),
        max_length=80,
        help_text=_("What is it? e.g. “Levi's 501 jeans, light wash”."),
    )
    category = CategoryChoiceField(label=_("Category"))
    description = forms.CharField(
        label=_("Description"), max_length=5000, required=False, widget=forms.Textarea
    )
    brand = forms.CharField(label=_("Brand"), max_length=60, required=False)
    size = forms.CharField(label=_("Size"), max_length=20, required=False)
    condition = forms.ChoiceField(label=_("Condition"), choices=Listing.Condition.choices)
    colour = forms.CharField(label=_("Colour"), max_length=30, required=False)
    price = forms.DecimalField(
        label=_("Price"),
        min_value=MIN_PRICE,
        max_value=MAX_PRICE,
        max_digits=10,
        decimal_places=2,
        error_messages={
            "min_value": _("The lowest price is %(limit_value)s."),
            "max_value": _("The highest price is %(limit_value)s."),
            "max_decimal_places": _("Use at most 2 decimals, e.g. 12.50."),
            "invalid": _("Enter a price like 12 or 12.50."),
        },
    )
    shipping_price = forms.DecimalField(
        label=_("Shipping price"),
        min_value=Decimal("0.00"),
        max_value=MAX_SHIPPING,
        max_digits=8,
        decimal_places=2,
        initial=Decimal("0.00"),
        error_messages={
            "min_value": _("Shipping can't cost less than 0."),
            "max_value": _("Shipping can cost at most %(limit_value)s."),
            "max_decimal_places": _("Use at most 2 decimals, e.g. 3.90."),
            "invalid": _("Enter a shipping price like 3.90 (0 for free shipping)."),
        },
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=999, initial=1)

    def __init__(self, *args, held: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if held:
            # Units in a checkout not yet paid: the quantity is locked until they are settled.
            self.fields["quantity"].help_text = held_quantity_message(held)

    @staticmethod
    def initial_for(listing: Listing) -> dict:
        """The form's initial values for editing `listing` (the category as its id)."""
        names = [name for name in ListingDetails.names() if name != "category"]
        return {**{name: getattr(listing, name) for name in names}, "category": listing.category_id}

    def details(self) -> ListingDetails:
        """The valid input as the services take it (call after is_valid())."""
        return ListingDetails(**{name: self.cleaned_data[name] for name in ListingDetails.names()})


class ListingCreateForm(ListingForm):
    images = MultipleFileField(
        label=_("Photos"),
        help_text=_("1 to 10 photos (JPEG, PNG or WebP). The first one is the cover."),
        error_messages={"required": _("Add at least one photo.")},
    )

    def clean_images(self) -> list[ProcessedImage]:
        return process_uploads(self.cleaned_data["images"])


class ImagesAddForm(CatalogForm):
    images = MultipleFileField(
        label=_("Add photos"), error_messages={"required": _("Choose at least one photo.")}
    )

    def __init__(self, *args, existing: int = 0, **kwargs) -> None:
        self.existing = existing
        super().__init__(*args, **kwargs)

    def clean_images(self) -> list[ProcessedImage]:
        return process_uploads(self.cleaned_data["images"], already=self.existing)


class ImagesOrderForm(CatalogForm):
    """One "position" select per photo; the chosen positions give the new order (no JS)."""

    def __init__(self, *args, images: list[ListingImage], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.images = images
        choices = [(str(n), str(n)) for n in range(1, len(images) + 1)]
        for index, image in enumerate(images, start=1):
            self.fields[f"position_{image.pk}"] = forms.TypedChoiceField(
                label=_("Position of photo %(n)d") % {"n": index},
                choices=choices,
                coerce=int,
                initial=str(index),
            )

    def ordered_ids(self) -> list[int]:
        """Image ids by chosen position; ties keep the current order."""
        ranked = [
            (self.cleaned_data[f"position_{image.pk}"], index, image.pk)
            for index, image in enumerate(self.images)
        ]
        return [pk for _position, _index, pk in sorted(ranked)]


class BrowseForm(CatalogForm):
    """The browse filters (GET). Invalid values are reported and ignored, never a 500."""

    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    category = forms.ChoiceField(
        label=_("Category"),
        choices=lambda: [("", _("All categories")), *selectors.category_slug_choices()],
        required=False,
        widget=FastSelect,
    )
    size = forms.CharField(label=_("Size"), max_length=20, required=False)
    brand = forms.CharField(label=_("Brand"), max_length=60, required=False)
    condition = forms.ChoiceField(
        label=_("Condition"),
        choices=[("", _("Any condition")), *Listing.Condition.choices],
        required=False,
        widget=FastSelect,
    )
    min_price = forms.DecimalField(
        label=_("Min price"), min_value=0, max_digits=10, decimal_places=2, required=False
    )
    max_price = forms.DecimalField(
        label=_("Max price"), min_value=0, max_digits=10, decimal_places=2, required=False
    )
    sort = forms.ChoiceField(
        label=_("Sort by"),
        # Without a query "Best match" is left out (and ?sort=relevance reported and ignored).
        choices=[
            ("relevance", _("Best match")),
            ("newest", _("Newest first")),
            ("price_asc", _("Price: low to high")),
            ("price_desc", _("Price: high to low")),
        ],
        required=False,
        widget=FastSelect,
    )

    def __init__(self, *args, category: Category | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_category = category
        self.category_obj: Category | None = category
        if category is not None:
            del self.fields["category"]
        if not str(self.data.get("q") or "").strip():
            self.fields["sort"].choices = [
                choice for choice in self.fields["sort"].choices if choice[0] != "relevance"
            ]

    def clean_category(self) -> str:
        slug = self.cleaned_data.get("category") or ""
        if slug:
            self.category_obj = Category.objects.filter(slug=slug).first()
            if self.category_obj is None:
                raise ValidationError(_("There is no such category."), code="invalid_choice")
        return slug

    def clean(self) -> dict:
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", _("The maximum price is below the minimum price."))
        return data

    def filters(self) -> ListingFilters:
        """Filters from the valid fields only (call after is_valid()). Without a chosen sort:
        relevance for a query, newest otherwise."""
        data = getattr(self, "cleaned_data", {})
        q = (data.get("q") or "").strip()
        sort = data.get("sort") or ("relevance" if q else "newest")
        return ListingFilters(
            q=q,
            category=self.category_obj,
            size=(data.get("size") or "").strip(),
            brand=(data.get("brand") or "").strip(),
            condition=data.get("condition") or "",
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            sort=sort if sort in SORTS else "newest",
        )

    ANY = {"size": _("Any size"), "brand": _("Any brand"), "condition": _("Any condition")}

    def show_facets(self, facets: tuple[Facet, ...]) -> None:
        """Turn size, brand and condition into selects whose options show the result counts
        ("M (124)", "~" before estimated counts). The chosen value stays chosen as typed."""
        data = getattr(self, "cleaned_data", {})
        for facet in facets:
            if facet.name not in ("size", "brand", "condition"):
                continue
            about = "~" if facet.approximate else ""
            chosen = data.get(facet.name) or ""
            options = [("", self.ANY[facet.name])]
            for value in facet.values:
                key = chosen if value.selected and chosen else value.value
                options.append((key, f"{value.label} ({about}{value.count})"))
            if facet.name == "condition":
                self.fields["condition"].choices = options
            else:
                self.fields[facet.name].widget = FastSelect(choices=options)


class SavedSearchForm(CatalogForm):
    """The name a shopper gives a search they save (the filters come with it, as the browse
    parameters; the service validates those with BrowseForm)."""

    name = forms.CharField(
        label=_("Name (optional)"),
        max_length=80,
        required=False,
        error_messages={"max_length": _("Keep the name to %(limit_value)d characters.")},
    )
