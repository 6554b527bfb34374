"""The results page in a real browser: headless Chromium, no network, loaded from ``file://``.

Each page loads without a console error or a failed request, asks for nothing outside its
folder, every image decodes (natural width > 0) and every link resolves (a file in the site, or
an element id of the page), and its screenshot is a real, non-blank picture. Needs Debian's
``chromium``: skipped without it on a laptop, an error in CI (MLRC_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from headless_chromium import WINDOW, PageLoad, file_url, find_chromium, load_page
from PIL import Image
from service_checks import need_service

from benchmark.cli import main

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "results" / "example"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    need_service("chromium", path is not None, "apt-get install chromium (Debian)")
    return path


def assert_page_is_sound(load: PageLoad, site: Path) -> None:
    """No error, nothing fetched from outside the site, every image and link resolves."""
    assert load.console_errors == []
    assert load.failed == []
    assert load.scripts == 0 and load.stylesheets == 0  # no script, the style is inline
    root = site.resolve().as_uri() + "/"
    assert load.requested and all(url.startswith(root) for url in load.requested), load.requested
    assert load.images, "the page shows no image"
    for src, url, natural_width in load.images:
        assert not urlsplit(src).scheme and not src.startswith("/"), f"{src} is not relative"
        assert natural_width > 0, f"{src} did not decode"
        assert url.startswith(root)
    for href, url in load.links:
        parts = urlsplit(href)
        assert not parts.scheme and not href.startswith("/"), f"{href} is not relative"
        if href.startswith("#"):
            assert href[1:] in load.ids, f"{href} points at no element"
        else:
            target = Path(unquote(urlsplit(url).path))
            assert target.is_file() and site.resolve() in target.parents, href


def assert_screenshot_is_a_real_page(load: PageLoad, min_height: int) -> None:
    image = Image.open(io.BytesIO(load.screenshot))
    assert image.format == "PNG"
    assert image.width == WINDOW[0] and image.height >= min_height
    assert len(load.screenshot) > 50_000
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10, "the screenshot is blank"
    assert (pixels < 128).mean() > 0.01, "the screenshot holds hardly any text"


def test_the_example_page_loads_in_chromium(chromium, tmp_path, capsys):
    site = tmp_path / "site"
    assert main(["tables", str(EXAMPLE), "--out", str(tmp_path / "out"), "--html", str(site)]) == 0
    capsys.readouterr()
    load = load_page(file_url(site / "index.html"), chromium)
    assert_page_is_sound(load, site)
    assert len(load.images) == 3  # the example's committed figures
    assert_screenshot_is_a_real_page(load, min_height=2000)


def test_the_demo_run_page_loads_in_chromium(chromium, demo_page):
    load = load_page(file_url(demo_page.site / "index.html"), chromium)
    assert_page_is_sound(load, demo_page.site)
    sources = {src for src, _, _ in load.images}
    assert {"studies/history_run-1_contrastive.png", "studies/history_run-1_mfcwms.png"} <= sources
    assert "#run-1" in {href for href, _ in load.links}
    assert_screenshot_is_a_real_page(load, min_height=3000)


def test_a_broken_page_is_caught(chromium, tmp_path):
    """The checks above can fail: a missing image and a console error are seen."""
    page = tmp_path / "index.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        '<title>t</title></head><body><img src="missing.png">'
        "<script>console.error('boom')</script></body></html>"
    )
    load = load_page(file_url(page), chromium)
    assert any("boom" in error for error in load.console_errors)
    assert any("ERR_FILE_NOT_FOUND" in failure for failure in load.failed)
    assert load.images == [("missing.png", file_url(tmp_path / "missing.png"), 0)]
    with pytest.raises(AssertionError):
        assert_page_is_sound(load, tmp_path)
