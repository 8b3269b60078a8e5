"""static.py through the app: the page's files and plotly.js gzipped, with ETag and
Cache-Control, 304 for a current copy, and nothing outside the frontend folder."""

from __future__ import annotations

from fastapi.testclient import TestClient

from descent.server.app import FRONTEND, PLOTLY_JS


def test_plotly_is_sent_gzipped_and_cacheable(client: TestClient) -> None:
    r = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.headers["content-type"].startswith("text/javascript")
    assert "max-age=86400" in r.headers["cache-control"] and r.headers["etag"] and r.headers["vary"] == "Accept-Encoding"
    sent = int(r.headers["content-length"])
    assert sent < PLOTLY_JS.stat().st_size / 3  # 4.8 MB -> about 1.4 MB
    assert r.content == PLOTLY_JS.read_bytes()  # (httpx undoes the gzip)


def test_a_current_copy_gets_a_304(client: TestClient) -> None:
    for url in ["/", "/static/js/main.js", "/static/style.css", "/vendor/plotly.min.js"]:
        first = client.get(url)
        assert first.status_code == 200 and first.headers["etag"], url
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"], url


def test_the_page_files_are_compressed_and_revalidated(client: TestClient) -> None:
    for url, path in [("/", "index.html"), ("/static/js/main.js", "js/main.js"), ("/static/style.css", "style.css"), ("/static/lessons.json", "lessons.json")]:
        r = client.get(url, headers={"Accept-Encoding": "gzip, br"})
        assert r.headers["content-encoding"] == "gzip" and r.headers["cache-control"] == "no-cache", url
        assert r.content == (FRONTEND / path).read_bytes(), url
    plain = client.get("/static/js/main.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == (FRONTEND / "js/main.js").read_bytes()


def test_a_changed_file_is_sent_anew(client: TestClient, tmp_path: object) -> None:
    from descent.server import static

    target = tmp_path / "a.js"  # type: ignore[operator]
    target.write_text("let a = 1;\n" * 200)
    first = static.prepared(target)
    target.write_text("let b = 2;\n" * 300)
    assert static.prepared(target).etag != first.etag


def test_nothing_outside_the_frontend_and_only_reads(client: TestClient) -> None:
    assert client.get("/static/../backend/descent/server/app.py").status_code == 404
    assert client.get("/static/%2e%2e/README.md").status_code == 404
    assert client.get("/static/nope.js").status_code == 404
    assert client.post("/static/js/main.js").status_code == 405
    head = client.head("/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 1_000_000
