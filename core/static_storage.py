"""Static files in production: WhiteNoise's hashed, compressed files, each URL worked out
once per process.

A page asks for about fifteen static URLs, and each costs about 20 µs through the manifest
(a lookup, a quote and a urljoin). The manifest is read when the process starts and never
changes while it runs, so the answer for a name never changes either. Only `url()` is
remembered: collectstatic's post-processing, which rewrites the manifest, works through
`_url()` and `hashed_name()`.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage

# Names come from templates, so there are few; the bound only guards against a template that
# builds them from input.
REMEMBERED_MAX = 1_000


class ManifestStaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name: str | None, force: bool = False) -> str:
        if force or name is None:
            return super().url(name, force)
        url = self._urls.get(name)
        if url is None:
            url = super().url(name)
            if len(self._urls) < REMEMBERED_MAX:
                self._urls[name] = url
        return url
