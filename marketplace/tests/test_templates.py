"""The catalog's templates know no other app's URLs (orders contributes its own controls)."""

import re
from pathlib import Path

import marketplace

CATALOG_TEMPLATES = Path(marketplace.__file__).resolve().parent / "templates"


def test_catalog_templates_name_no_orders_urls():
    """No template of the catalog mentions an `orders:` URL name (buy_controls draws them)."""
    templates = sorted(CATALOG_TEMPLATES.rglob("*.html"))
    assert templates, "the catalog's templates moved: point this test at them"
    offenders = [
        f"{path.relative_to(CATALOG_TEMPLATES)}: {match.group(0)}"
        for path in templates
        for match in re.finditer(r"orders:[\w-]*", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_catalog_templates_name_no_messaging_urls():
    """No template of the catalog mentions a `messaging:` URL name (message_controls does)."""
    offenders = [
        f"{path.relative_to(CATALOG_TEMPLATES)}: {match.group(0)}"
        for path in sorted(CATALOG_TEMPLATES.rglob("*.html"))
        for match in re.finditer(r"messaging:[\w-]*", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
