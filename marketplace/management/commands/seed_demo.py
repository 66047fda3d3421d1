"""Demo data: categories, members with known logins, listings with generated photos.

Idempotent: what exists is kept, only what is missing is created, so a second run changes
nothing. Logins (password "threadly-demo"): seller1@threadly.test .. seller4@threadly.test,
buyer@threadly.test, admin@threadly.test (superuser).

Photos come from a pool of generated garment pictures stored once under listings/demo/
(re-encoded by core.images.process_image); many ListingImage rows point at the same
files, which is what makes `--listings 100000` take minutes rather than hours.
"""

import io
import json
import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw
from tqdm import tqdm

from core.images import process_image
from marketplace.models import Category, Listing, ListingImage
from marketplace.search.vocabulary import vocabulary_refresh
from marketplace.selectors import category_path_names

DEMO_PASSWORD = "threadly-demo"  # noqa: S105 - documented demo login, local data only
DEMO_DIR = "listings/demo"
POOL_SIZE = 24
BATCH_SIZE = 2000

SELLERS = [
    ("seller1@threadly.test", "mila.vintage", "Mila Novak", "Berlin"),
    ("seller2@threadly.test", "oskar.threads", "Oskar Lind", "Stockholm"),
    ("seller3@threadly.test", "noor.closet", "Noor Haddad", "Amsterdam"),
    ("seller4@threadly.test", "jules.resale", "Jules Martin", "Lyon"),
]
BUYER = ("buyer@threadly.test", "demo.buyer", "Sam Buyer", "Dublin")
ADMIN = ("admin@threadly.test", "admin", "Threadly Admin", "")

# (name, children); leaves carry the garment shape their photos show.
TREE = [
    (
        "Women",
        [
            ("Tops", [("T-shirts", "tee"), ("Blouses", "tee"), ("Knitwear", "jumper")]),
            ("Dresses", "dress"),
            ("Skirts", "skirt"),
            ("Jeans & trousers", "trousers"),
            ("Coats & jackets", "jacket"),
            ("Bags", "bag"),
        ],
    ),
    (
        "Men",
        [
            ("T-shirts & shirts", "tee"),
            ("Knitwear", "jumper"),
            ("Jeans & trousers", "trousers"),
            ("Coats & jackets", "jacket"),
        ],
    ),
    ("Kids", [("Girls", "dress"), ("Boys", "tee"), ("Baby", "jumper")]),
    ("Accessories", [("Bags & backpacks", "bag"), ("Tote bags", "bag")]),
]
SHAPES = ["tee", "jumper", "dress", "skirt", "trousers", "jacket", "bag"]
COLOURS = [
    ("Black", (35, 35, 38)),
    ("Navy", (31, 45, 90)),
    ("Cream", (232, 222, 200)),
    ("Red", (178, 44, 44)),
    ("Forest green", (38, 92, 64)),
    ("Camel", (190, 143, 90)),
    ("Denim blue", (70, 104, 150)),
    ("Pink", (226, 150, 170)),
]
BRANDS = ["Zara", "COS", "Levi's", "Uniqlo", "Arket", "Mango", "& Other Stories", "Patagonia", ""]
SIZES = {
    "tee": ["XS", "S", "M", "L", "XL"],
    "jumper": ["S", "M", "L"],
    "dress": ["34", "36", "38", "40"],
    "skirt": ["34", "36", "38"],
    "trousers": ["W28", "W30", "W32", "W34"],
    "jacket": ["S", "M", "L", "XL"],
    "bag": ["One size"],
}
NOUNS = {
    "tee": "T-shirt",
    "jumper": "jumper",
    "dress": "dress",
    "skirt": "skirt",
    "trousers": "trousers",
    "jacket": "jacket",
    "bag": "tote bag",
}
ADJECTIVES = ["Vintage", "Oversized", "Linen", "Wool", "Cotton", "Striped", "Cropped", "Classic"]


def _silhouette(shape: str, w: int, h: int) -> list[tuple[float, float]]:
    """A garment outline in a w x h box (simple polygons, recognisable at thumbnail size)."""
    pts = {
        "tee": [
            (0.3, 0.15),
            (0.42, 0.12),
            (0.5, 0.18),
            (0.58, 0.12),
            (0.7, 0.15),
            (0.9, 0.32),
            (0.8, 0.42),
            (0.72, 0.36),
            (0.72, 0.88),
            (0.28, 0.88),
            (0.28, 0.36),
            (0.2, 0.42),
            (0.1, 0.32),
        ],
        "jumper": [
            (0.3, 0.14),
            (0.42, 0.12),
            (0.5, 0.16),
            (0.58, 0.12),
            (0.7, 0.14),
            (0.88, 0.3),
            (0.92, 0.8),
            (0.82, 0.82),
            (0.74, 0.42),
            (0.74, 0.88),
            (0.26, 0.88),
            (0.26, 0.42),
            (0.18, 0.82),
            (0.08, 0.8),
            (0.12, 0.3),
        ],
        "dress": [
            (0.4, 0.1),
            (0.45, 0.1),
            (0.5, 0.16),
            (0.55, 0.1),
            (0.6, 0.1),
            (0.63, 0.35),
            (0.58, 0.45),
            (0.8, 0.9),
            (0.2, 0.9),
            (0.42, 0.45),
            (0.37, 0.35),
        ],
        "skirt": [(0.32, 0.22), (0.68, 0.22), (0.7, 0.3), (0.84, 0.82), (0.16, 0.82), (0.3, 0.3)],
        "trousers": [
            (0.3, 0.1),
            (0.7, 0.1),
            (0.74, 0.9),
            (0.57, 0.9),
            (0.5, 0.38),
            (0.43, 0.9),
            (0.26, 0.9),
        ],
        "jacket": [
            (0.3, 0.12),
            (0.45, 0.12),
            (0.5, 0.5),
            (0.55, 0.12),
            (0.7, 0.12),
            (0.9, 0.3),
            (0.88, 0.86),
            (0.76, 0.86),
            (0.74, 0.42),
            (0.74, 0.9),
            (0.26, 0.9),
            (0.26, 0.42),
            (0.24, 0.86),
            (0.12, 0.86),
            (0.1, 0.3),
        ],
        "bag": [(0.22, 0.38), (0.78, 0.38), (0.84, 0.86), (0.16, 0.86)],
    }[shape]
    return [(x * w, y * h) for x, y in pts]


def demo_photo(index: int) -> tuple[str, str, bytes]:
    """Pool photo `index`: (shape, colour name, JPEG bytes of a patterned garment silhouette)."""
    shape = SHAPES[index % len(SHAPES)]
    colour_name, colour = COLOURS[(index * 3) % len(COLOURS)]
    w, h = 800, 1000
    background = (244, 240, 233) if index % 2 else (228, 234, 236)
    image = Image.new("RGB", (w, h), background)
    draw = ImageDraw.Draw(image)
    outline = _silhouette(shape, w, h)
    draw.polygon([(x + 12, y + 14) for x, y in outline], fill=(205, 200, 192))  # shadow
    draw.polygon(outline, fill=colour)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    pattern = Image.new("RGB", (w, h), colour)
    pdraw = ImageDraw.Draw(pattern)
    accent = tuple(min(255, c + 70) for c in colour)
    if index % 3 == 1:
        for y in range(0, h, 48):
            pdraw.rectangle([0, y, w, y + 16], fill=accent)
    elif index % 3 == 2:
        for y in range(0, h, 60):
            for x in range((y // 60) % 2 * 30, w, 60):
                pdraw.ellipse([x, y, x + 18, y + 18], fill=accent)
    image.paste(pattern, (0, 0), mask)
    if shape == "bag":
        draw.arc([w * 0.34, h * 0.2, w * 0.66, h * 0.56], 180, 360, fill=colour, width=22)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return shape, colour_name, buffer.getvalue()


class Command(BaseCommand):
    help = "Create demo categories, members and listings (safe to run again)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--listings", type=int, default=40, help="How many demo listings to have (default 40)."
        )
        parser.add_argument(
            "--sellers",
            type=int,
            default=len(SELLERS),
            help=(
                f"How many sellers share the listings (default {len(SELLERS)}, the demo logins; "
                "more are generated, e.g. 2000 for a benchmark catalogue where a few sellers "
                "have many items and most have a handful)."
            ),
        )

    def handle(self, *args, listings: int, sellers: int = len(SELLERS), **options) -> None:
        leaves = self._categories()
        demo_sellers = [self._member(*row, seller=True) for row in SELLERS]
        sellers = demo_sellers + self._generated_sellers(sellers - len(demo_sellers))
        self._member(*BUYER)
        self._member(*ADMIN, staff=True)
        pool = self._photo_pool()
        created = self._listings(listings, sellers=sellers, leaves=leaves, pool=pool)
        vocabulary_refresh()  # "Did you mean …?" knows the new words (PostgreSQL)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created} listing(s) created. "
                f"Log in as seller1@threadly.test / {DEMO_PASSWORD}."
            )
        )

    # --- Categories ----------------------------------------------------------------------
    def _categories(self) -> list[tuple[Category, str]]:
        leaves: list[tuple[Category, str]] = []

        def add(name: str, node, parent: Category | None, position: int) -> None:
            slug = slugify(f"{parent.slug}-{name}" if parent else name)
            category, _ = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "parent": parent, "position": position}
            )
            if isinstance(node, str):
                leaves.append((category, node))
            else:
                for child_position, (child_name, child) in enumerate(node):
                    add(child_name, child, category, child_position)

        for position, (name, children) in enumerate(TREE):
            add(name, children, None, position)
        return leaves

    # --- Members -------------------------------------------------------------------------
    def _member(self, email, username, display_name, location, *, seller=False, staff=False):
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=email).first()
        if user is None:
            try:
                from accounts.services import user_create
            except ImportError:  # accounts' services not there yet: create the rows directly
                user_create = None
            if user_create is not None:
                user = user_create(
                    email=email,
                    username=username,
                    password=DEMO_PASSWORD,
                    display_name=display_name,
                    location=location,
                )
            else:
                from accounts.models import Profile

                user = user_model(email=email, username=username)
                user.set_password(DEMO_PASSWORD)
                user.save()
                Profile.objects.create(user=user, display_name=display_name, location=location)
        changed = []
        if seller and not user.is_seller:
            user.is_seller = True
            changed.append("is_seller")
        if staff and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            changed += ["is_staff", "is_superuser"]
        if changed:
            user.save(update_fields=changed)
        # The demo logins work without an emailed code (sign-up verification is mandatory).
        from accounts.services import user_email_mark_verified

        user_email_mark_verified(user=user)
        return user

    # --- Photos --------------------------------------------------------------------------
    def _photo_pool(self) -> dict[str, list[dict]]:
        """Shape -> list of {"name", "colour", "width", "height", "variants"}.

        Files are generated and stored once; later runs read their sizes from the stored
        files' headers instead of encoding them again.
        """
        pool: dict[str, list[dict]] = {}
        for index in range(POOL_SIZE):
            shape, colour = SHAPES[index % len(SHAPES)], COLOURS[(index * 3) % len(COLOURS)][0]
            stem = f"{DEMO_DIR}/pool-{index:02d}"
            entry = self._stored_pool_entry(stem) or self._store_pool_photo(index, stem)
            pool.setdefault(shape, []).append({**entry, "colour": colour})
        return pool

    def _stored_pool_entry(self, stem: str) -> dict | None:
        manifest_name = f"{stem}.json"
        if not default_storage.exists(manifest_name):
            return None
        with default_storage.open(manifest_name) as manifest:
            entry = json.load(manifest)
        names = [entry["name"], *(v["name"] for v in entry["variants"])]
        return entry if all(default_storage.exists(name) for name in names) else None

    def _store_pool_photo(self, index: int, stem: str) -> dict:
        _shape, _colour, data = demo_photo(index)
        processed = process_image(ContentFile(data, name=f"{stem}.jpg"))
        variants = []
        for rendition in processed.variants:
            name = self._save_exact(f"{stem}-{rendition.width}w.webp", rendition.file)
            variants.append({"width": rendition.width, "height": rendition.height, "name": name})
        entry = {
            "name": self._save_exact(f"{stem}.webp", processed.main.file),
            "width": processed.main.width,
            "height": processed.main.height,
            "variants": variants,
        }
        self._save_exact(f"{stem}.json", ContentFile(json.dumps(entry).encode()))
        return entry

    @staticmethod
    def _save_exact(name: str, content) -> str:
        if default_storage.exists(name):
            default_storage.delete(name)
        return default_storage.save(name, content)

    # --- Listings ------------------------------------------------------------------------
    def _listings(self, target: int, *, sellers, leaves, pool) -> int:
        existing = Listing.objects.filter(seller__in=sellers).count()
        missing = max(0, target - existing)
        if not missing:
            return 0
        now = timezone.now()
        # Rows are bulk-created here, not through listing_create: set what it would set.
        self._category_names = {leaf.pk: category_path_names(leaf.pk) for leaf, _ in leaves}
        progress = tqdm(total=missing, desc="Listings", unit="listing", disable=missing < 1000)
        for start in range(existing, target, BATCH_SIZE):
            indexes = range(start, min(target, start + BATCH_SIZE))
            with transaction.atomic():
                rows, photos = [], []
                for index in indexes:
                    listing, listing_photos = self._listing(index, now, sellers, leaves, pool)
                    rows.append(listing)
                    photos.append(listing_photos)
                Listing.objects.bulk_create(rows, batch_size=500)
                ListingImage.objects.bulk_create(
                    [
                        ListingImage(
                            listing=listing,
                            image=photo["name"],
                            width=photo["width"],
                            height=photo["height"],
                            position=position,
                            variants=photo["variants"],
                        )
                        for listing, listing_photos in zip(rows, photos, strict=True)
                        for position, photo in enumerate(listing_photos)
                    ],
                    batch_size=1000,
                )
            progress.update(len(indexes))
        progress.close()
        return missing

    def _generated_sellers(self, count: int) -> list:
        """`count` more sellers (seller0005..), made in bulk with one shared password hash and
        their profiles; the existing ones are kept. They can log in with the demo password."""
        if count <= 0:
            return []
        from django.contrib.auth.hashers import make_password

        from accounts.models import Profile

        user_model = get_user_model()
        names = [f"seller{n:04d}" for n in range(len(SELLERS) + 1, len(SELLERS) + count + 1)]
        existing = set(
            user_model.objects.filter(username__in=names).values_list("username", flat=True)
        )
        password = make_password(DEMO_PASSWORD)
        new = [
            user_model(
                username=name,
                email=f"{name}@bench.threadly.test",
                password=password,
                is_seller=True,
            )
            for name in names
            if name not in existing
        ]
        with transaction.atomic():
            user_model.objects.bulk_create(new, batch_size=1000)
            users = list(user_model.objects.filter(username__in=names).order_by("username"))
            have_profile = set(
                Profile.objects.filter(user__in=users).values_list("user_id", flat=True)
            )
            Profile.objects.bulk_create(
                [
                    Profile(user=user, display_name=user.username.capitalize())
                    for user in users
                    if user.pk not in have_profile
                ],
                batch_size=1000,
            )
        return users

    @staticmethod
    def _seller_of(index: int, sellers: list):
        """A skewed but deterministic share: the first sellers get many items, most get a few
        (the golden-ratio sequence is spread evenly; squaring it favours small positions)."""
        spread = (index * 0.6180339887) % 1
        return sellers[min(len(sellers) - 1, int(len(sellers) * spread * spread))]

    def _listing(self, index: int, now, sellers, leaves, pool):
        rng = random.Random(index)  # noqa: S311 - deterministic demo data, not security
        category, shape = leaves[index % len(leaves)]
        choices = pool[shape]
        listing_photos = [choices[(index + n) % len(choices)] for n in range(1 + index % 3)]
        colour = listing_photos[0]["colour"]  # the title matches the cover photo
        brand = rng.choice(BRANDS)
        title = f"{rng.choice(ADJECTIVES)} {colour.lower()} {NOUNS[shape]}"
        if brand:
            title = f"{brand} {title[0].lower()}{title[1:]}"
        price = Decimal(rng.randrange(500, 12000, 50)) / 100
        listing = Listing(
            seller=sellers[index % len(sellers)]
            if len(sellers) <= len(SELLERS)
            else self._seller_of(index, sellers),
            title=title[:80],
            slug=slugify(title)[:90] or "item",
            description=(
                f"{title}. Worn a handful of times and kept with care; no marks or holes. "
                "Smoke-free home. Happy to answer questions or send more photos."
            ),
            category=category,
            category_names=self._category_names[category.pk],
            brand=brand,
            size=rng.choice(SIZES[shape]),
            condition=rng.choice(Listing.Condition.values),
            colour=colour,
            price=price,
            shipping_price=rng.choice([Decimal("0.00"), Decimal("3.90"), Decimal("4.90")]),
            currency=settings.CURRENCY,
            status=Listing.Status.ACTIVE,
            published_at=now - timedelta(minutes=index * 7),
        )
        return listing, listing_photos
