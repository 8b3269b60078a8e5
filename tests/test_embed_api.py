"""The embed API's server side: the origin allowlist setting (DESCENT_EMBED_ORIGINS), /api/embed
that hands it to the page, the example course page served under the page's CSP, and
docs/embed.md showing the example exactly as served. (The messages themselves are checked
by the page: tests/test_embed_api_browser.py.)"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from descent.server.app import FRONTEND, create_app
from descent.settings import Settings
from tests.conftest import ROOT


def test_any_origin_may_drive_an_embed_by_default(client: TestClient) -> None:
    assert Settings().embed_origins == ["*"]
    assert client.get("/api/embed").json() == {"origins": ["*"]}


def test_the_allowlist_is_read_from_the_environment_and_normalised() -> None:
    env = {"DESCENT_EMBED_ORIGINS": "https://Course.Example.edu/, http://localhost:3000,https://a.example:443, http://[::1]:80"}
    assert Settings.from_env(env).embed_origins == ["https://course.example.edu", "http://localhost:3000", "https://a.example", "http://[::1]"]
    assert Settings.from_env({"DESCENT_EMBED_ORIGINS": ""}).embed_origins == []  # none may drive


@pytest.mark.parametrize("bad", ["course.example.edu", "https://course.example.edu/lesson", "ftp://x.example", "https://x.example:99999999"])
def test_an_allowlist_entry_that_is_not_an_origin_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="embed_origins: .* is not an origin; allowed: '\\*' or scheme://host\\[:port\\]"):
        Settings.from_env({"DESCENT_EMBED_ORIGINS": bad})


def test_the_allowlist_reaches_the_page() -> None:
    settings = Settings(device="cpu", worker_processes=0, embed_origins=["https://course.example.edu"])
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/embed").json() == {"origins": ["https://course.example.edu"]}


def test_the_example_page_is_served_under_the_csp(client: TestClient) -> None:
    page = client.get("/embed-example.html")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.content == (FRONTEND / "embed-example.html").read_bytes()
    assert "<script>" not in page.text  # (no inline script: the CSP would refuse it)
    script = client.get("/static/embed-example.js")
    assert script.status_code == 200 and script.content == (FRONTEND / "embed-example.js").read_bytes()
    for module in ("embedapi.js", "embedmessages.js"):
        assert client.get(f"/static/js/{module}").status_code == 200


def test_the_docs_show_the_example_as_served() -> None:
    doc = (ROOT / "docs" / "embed.md").read_text()
    blocks = {lang: body for lang, body in re.findall(r"```(html|js)\n(.*?)```", doc, re.S) if len(body) > 1000}
    assert blocks["html"] == (FRONTEND / "embed-example.html").read_text()
    assert blocks["js"] == (FRONTEND / "embed-example.js").read_text()


def test_the_docs_name_every_message_and_event() -> None:
    doc = (ROOT / "docs" / "embed.md").read_text()
    messages = (FRONTEND / "js" / "embedmessages.js").read_text()
    types = re.search(r"const FIELDS = \{(.*?)\n\};", messages, re.S)
    assert types is not None
    for name in re.findall(r"^  (\w+): \{", types.group(1), re.M):
        assert f"`{name}`" in doc, name
    for event in ("ready", "subscribed", "state", "ok", "frame", "status", "diverged", "config", "error"):
        assert f"`{event}`" in doc, event
    assert "DESCENT_EMBED_ORIGINS" in doc
