"""What users see of the hardening, in real Chromium against a real server: a reload takes
the same run back (the epoch counter keeps going), and the page works inside an iframe
under the security headers (any CSP violation is a console error, which fails the test).

Note: with ``script-src 'self'`` Playwright's ``wait_for_function`` needs the function form
("() => ..."); a bare expression is polled with eval in the page, which the CSP refuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.conftest import screenshot


def epoch(pg) -> int:
    return int(pg.evaluate("document.body.dataset.epoch"))


def test_reload_resumes_the_same_run(page) -> None:
    page.goto(page.base_url + "/#dataset=xor")
    page.wait_for_selector("body[data-epoch]")
    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.epoch) >= 20")
    session = page.evaluate("document.body.dataset.session")
    screenshot(page, "hardening-before-reload")
    page.reload()
    page.wait_for_selector("body[data-epoch]")
    assert page.evaluate("document.body.dataset.session") == session
    after = epoch(page)
    assert after >= 20  # not back to 0: the same weights and counters
    page.wait_for_function(f"() => Number(document.body.dataset.epoch) > {after + 5}")  # and it plays on
    assert page.locator("select").first.is_visible()
    assert "xor" in page.url
    screenshot(page, "hardening-after-reload")
    page.set_viewport_size({"width": 1920, "height": 1080})
    screenshot(page, "hardening-after-reload-1920")
    assert page.text_content("#conn") == "live"


def test_a_new_tab_gets_its_own_session(page) -> None:
    page.goto(page.base_url + "/")
    page.wait_for_selector("body[data-session]")
    first = page.evaluate("document.body.dataset.session")
    other = page.context.new_page()  # a new tab has its own sessionStorage
    other.goto(page.base_url + "/")
    other.wait_for_selector("body[data-session]")
    assert other.evaluate("document.body.dataset.session") != first
    other.close()


@contextmanager
def course_site(html: str) -> Iterator[str]:
    """Another origin on loopback serving one page (a course page that embeds Descent)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_embedded_in_an_iframe_on_another_site(page) -> None:
    course = f'<h3>A course page</h3><iframe src="{page.base_url}/#dataset=gauss" width="1240" height="700"></iframe>'
    with course_site(course) as url:
        page.goto(url)
        frame = page.frame_locator("iframe")
        frame.locator("body[data-epoch]").wait_for(state="attached")
        frame.locator("#play").click()
        inner = page.frames[1]
        inner.wait_for_function("() => Number(document.body.dataset.epoch) >= 5")
        assert inner.text_content("#conn") == "live"  # its websocket is same-origin to Descent
        screenshot(page, "hardening-iframe")


def test_a_link_opened_in_the_tab_applies_to_the_resumed_session(page) -> None:
    page.goto(page.base_url + "/#dataset=xor")
    page.wait_for_selector("body[data-epoch]")
    page.click("#step")
    page.wait_for_function("() => Number(document.body.dataset.epoch) >= 1")
    session = page.evaluate("document.body.dataset.session")
    page.goto(page.base_url + "/?from=course#dataset=spiral&learning_rate=0.1")  # a new document, same tab
    page.wait_for_selector("body[data-session]")
    assert page.evaluate("document.body.dataset.session") == session  # the same session ...
    page.wait_for_function("() => document.body.dataset.epoch === '0'")  # ... rebuilt for the new data
    assert "dataset=spiral" in page.url and "learning_rate=0.1" in page.url
