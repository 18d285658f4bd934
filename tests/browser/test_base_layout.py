"""The base layout in a real browser: accessible, keyboard-usable, reflows at 320 px."""


def test_home_page_passes_axe_and_has_a_working_skip_link(live_server, page, axe_check):
    page.goto(live_server.url + "/")
    axe_check(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_home_page_reflows_at_320_px(live_server, page, narrow):
    page.goto(live_server.url + "/")
    narrow()


def test_axe_check_itself_catches_an_unlabelled_field(page, axe_check):
    page.set_content("<html lang='en'><title>t</title><main><input type='text'></main></html>")
    try:
        axe_check(page)
    except AssertionError as exc:
        assert "label" in str(exc)
    else:
        raise AssertionError("axe_check passed a page with an unlabelled input")
