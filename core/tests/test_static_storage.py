import json

from core.static_storage import ManifestStaticStorage


def test_static_urls_are_the_manifests_hashed_names_worked_out_once(tmp_path):
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"paths": {"css/site.css": "css/site.0a1b2c.css"}, "version": "1.1"})
    )
    storage = ManifestStaticStorage(location=tmp_path, base_url="/static/")

    assert storage.url("css/site.css") == "/static/css/site.0a1b2c.css"
    # A second answer comes from memory, not from the manifest.
    storage.hashed_files["css/site.css"] = "css/site.ffffff.css"
    assert storage.url("css/site.css") == "/static/css/site.0a1b2c.css"
    assert storage.url("css/site.css", force=True) == "/static/css/site.ffffff.css"
