"""The studio page in headless Chromium: type, generate, open variations, move a slider, download.

Needs Debian's `chromium` package (`.ci/run` installs it) and Playwright's Python
package, which drives /usr/bin/chromium instead of downloading a browser. Set
DESIGNGAN_STUDIO_SCREENSHOT=PATH to also copy the screenshot there (the docs use
docs/images/studio.png).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from serve_fixtures import load_builtin_model, serving  # noqa: I001  (skips this module without the serve extra)
from designgan.recipes import RECIPE_TEXT_KEY
from designgan.serve import ServeConfig, create_app

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found; install Debian's chromium package (apt-get install chromium) "
                "to run the browser test", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright: pip install -e '.[test]'")
expect = sync_api.expect

TIMEOUT_MS = 20_000
# The page's Content-Security-Policy forbids eval, so waits use locator assertions
# (`expect`), never page.wait_for_function with a string.
IDEAS = 6


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESIGNGAN_CACHE", str(tmp_path_factory.mktemp("cache")))  # no saved keyword directions
        app = create_app(load_builtin_model(), ServeConfig())
    with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def open_studio(page, base_url: str) -> None:
    page.goto(base_url)
    expect(page.locator("#model-info")).to_contain_text("Model builtin")


def generate(page, base_url: str, keywords: str = "smiling cat") -> None:
    open_studio(page, base_url)
    page.locator("#keywords").press_sequentially(keywords, delay=20)
    page.locator("#count").fill(str(IDEAS))
    page.locator("#seed").fill("7")
    page.locator("#generate").click()
    expect(page.locator("#ideas .idea img")).to_have_count(IDEAS)


def test_studio_workflow(page, base_url, tmp_path):
    generate(page, base_url)
    images = page.locator("#ideas .idea img")
    assert images.count() == IDEAS
    assert page.locator("#status").inner_text().startswith(f"{IDEAS} ideas for smiling, cat")
    for i in range(IDEAS):
        alt = images.nth(i).get_attribute("alt")  # the requested keywords, then those of the keyword context
        assert alt.startswith("Generated design for smiling, cat")
        assert f"seed {7 + i}" in alt
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth") == 64

    # Open the first idea and draw variations of it.
    page.locator("#ideas .idea-open").first.click()
    assert page.locator("#detail").is_visible()
    page.locator("#variations").click()
    expect(page.locator("#detail-results .idea img")).to_have_count(7)

    # Move the first direction slider with the keyboard; the detail image becomes the edit.
    before = page.locator("#detail-image").get_attribute("src")
    slider = page.locator("#directions input[type=range]").first
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    expect(page.locator("#detail-caption")).to_contain_text("Direction 1 at 0.5")
    assert page.locator("#detail-image").get_attribute("src") != before
    assert slider.input_value() == "0.5"

    # Download the edited idea as PNG and its recipe as JSON.
    with page.expect_download() as png_download:
        page.locator("#download-png").click()
    png_path = tmp_path / png_download.value.suggested_filename
    png_download.value.save_as(png_path)
    with Image.open(png_path) as image:
        png_recipe = json.loads(image.text[RECIPE_TEXT_KEY])
    with page.expect_download() as json_download:
        page.locator("#download-recipe").click()
    json_path = tmp_path / json_download.value.suggested_filename
    json_download.value.save_as(json_path)
    assert png_path.name.endswith(".png")
    assert png_recipe["operation"] == "edit"
    assert json.loads(json_path.read_text()) == png_recipe

    # Keep the idea on the favourites board, then morph two picked ideas.
    page.locator("#favourite").click()
    assert page.locator("#board .idea").count() == 1
    page.locator("#ideas .idea input[type=checkbox]").nth(1).check()
    assert page.evaluate("document.activeElement.dataset.role") == "pick"  # the focus survives the re-render
    page.locator("#ideas .idea input[type=checkbox]").nth(2).check()
    page.locator("#morph").click()
    expect(page.locator("#strip .idea img")).to_have_count(8)

    screenshot = tmp_path / "studio.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("DESIGNGAN_STUDIO_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["DESIGNGAN_STUDIO_SCREENSHOT"])


def test_studio_keyboard_autocomplete(page, base_url):
    open_studio(page, base_url)
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the API docs link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "keywords"
    page.keyboard.type("hea", delay=20)
    expect(page.locator("#suggestions li").first).to_be_visible()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # takes the suggestion, does not submit
    value = page.locator("#keywords").input_value()
    assert value.startswith("hea")
    assert value.endswith(", ")
    assert page.locator("#ideas .idea").count() == 0
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#ideas .idea img")).to_have_count(8)


def test_studio_keyword_context_switch(page, base_url):
    open_studio(page, base_url)
    assert page.locator("#context").is_checked()
    page.locator("#context").uncheck()
    page.locator("#keywords").fill("smiling, cat")
    page.locator("#count").fill(str(IDEAS))
    page.locator("#seed").fill("7")
    with page.expect_request(lambda request: request.url.endswith("/v1/generate")) as sent:
        page.locator("#generate").click()
    expect(page.locator("#ideas .idea img")).to_have_count(IDEAS)
    assert json.loads(sent.value.post_data)["context"] is False
    # Without context every idea keeps exactly the typed keywords.
    for alt in page.locator("#ideas .idea img").evaluate_all("images => images.map(image => image.alt)"):
        assert alt.startswith("Generated design for smiling, cat, seed"), alt


def test_studio_shows_unknown_words(page, base_url):
    generate(page, base_url, keywords="cats, zzzq")
    notes = page.locator("#keyword-notes li").all_inner_texts()
    assert "cats → cat (plural)" in notes
    assert any("zzzq" in note for note in notes)


def test_studio_error_message_for_unknown_only(page, base_url):
    open_studio(page, base_url)
    page.locator("#keywords").fill("../x")
    page.locator("#generate").click()
    expect(page.locator("#status")).to_have_class("error")
    expect(page.locator("#status")).to_contain_text("none of the keywords is known")


def test_studio_fits_phone_width(browser, base_url):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    generate(page, base_url)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    context.close()
    assert overflow <= 0
