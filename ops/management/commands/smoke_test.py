import json
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand

# (path, expected status, what the body must contain)
CHECKS = [
    ("/api/health", 200, '"status": "ok"'),
    ("/api/health/db", 200, '"status": "ok"'),
    ("/health", 200, '"status": "ok"'),
    ("/", 200, "Threadly"),
    ("/status", 200, "status"),
    ("/accounts/login/", 200, "<form"),
    ("/robots.txt", 200, "User-agent"),
    ("/sitemap.xml", 200, "<sitemapindex"),
]


class Command(BaseCommand):
    help = (
        "Post-deploy smoke test: health endpoints and key pages of a deployed site. "
        "Exits non-zero if any check fails."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", required=True, help="Base URL, e.g. https://threadly.example")
        parser.add_argument("--timeout", type=float, default=10.0)

    def handle(self, *args, url: str, timeout: float, **options) -> None:
        base = url.rstrip("/")
        if not base.startswith(("http://", "https://")):
            self.stderr.write("--url must start with http:// or https://")
            raise SystemExit(2)
        failures = 0
        for path, expected, needle in CHECKS:
            status, body, error = self._get(base + path, timeout)
            if status == 200 and path.startswith(("/api/health", "/health")):
                try:
                    body = json.dumps(json.loads(body))  # normalise spacing for the needle
                except ValueError:
                    error = "not JSON"
                    body = ""
            ok = status == expected and needle.lower() in body.lower()
            failures += not ok
            mark = self.style.SUCCESS("PASS") if ok else self.style.ERROR("FAIL")
            self.stdout.write(f"{mark} {status or '---'} {path} {error}".rstrip())
        if failures:
            self.stderr.write(f"{failures} of {len(CHECKS)} smoke checks failed.")
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"All {len(CHECKS)} smoke checks passed."))

    @staticmethod
    def _get(url: str, timeout: float) -> tuple[int, str, str]:
        request = urllib.request.Request(url, headers={"User-Agent": "threadly-smoke-test"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read(200_000).decode(errors="replace"), ""
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(200_000).decode(errors="replace"), ""
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            return 0, "", str(getattr(exc, "reason", exc))
