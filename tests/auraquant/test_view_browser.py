"""`auraquant view` pages opened in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium against the system browser, no browser download.

A meeting run and a replay run are made on the real data with the CLI, viewed, then opened: no
console error, nothing loaded from outside the run directory, the key elements there and working
(links, sorting, filtering), readable at a phone's width, and a screenshot saved in the run.
If the browser is missing the tests fail (CI installs it in ``.ci/run``): they never skip.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from auraquant.cli import app
from auraquant.view import write_view
from auraquant.view.html import rule_order
from tests.auraquant.test_view import _replay_run, _rich_meeting

pytestmark = pytest.mark.slow
runner = CliRunner()
CHROMIUM = ("chromium", "chromedriver")
PHONE = 390


@pytest.fixture(scope="module")
def runs(real_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A meeting run and a reviewed replay run in one home on the real data, both viewed."""
    home = tmp_path_factory.mktemp("view_home")
    (home / "store").symlink_to(real_store)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AURAQUANT_HOME", str(home))
        mp.delenv("DATABASE_URL", raising=False)
        from auraquant.settings import get_settings

        get_settings.cache_clear()
        meet = runner.invoke(app, ["meet", "BTCUSDT", "--at", "2023-04-20T12:00:00Z", "--json"])
        assert meet.exit_code == 0, meet.stderr
        meeting = Path(json.loads(meet.stdout)["run_dir"])
        rep = runner.invoke(app, ["replay", "--symbols", "BTCUSDT,ETHUSDT", "--start",
                                  "2023-04-10T00:00:00Z", "--end", "2023-04-12T00:00:00Z",
                                  "--every", "4h", "--workers", "1", "--json"])  # fmt: skip
        assert rep.exit_code == 0, rep.stderr
        replay = Path(json.loads(rep.stdout)["run_dir"])
        rev = runner.invoke(app, ["review", str(replay), "--json"])
        assert rev.exit_code == 0, rev.stderr
        for run in (meeting, replay):
            res = runner.invoke(app, ["view", str(run)])
            assert res.exit_code == 0, res.stderr
            assert res.stdout.strip() == f"view: {run / 'index.html'}"
        get_settings.cache_clear()
        yield {"meeting": meeting, "replay": replay}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [name for name in CHROMIUM if shutil.which(name) is None]
    if missing:
        pytest.fail(
            f"the browser tests need {', '.join(missing)} on PATH: "
            "apt-get install -y chromium chromium-driver (.ci/run does)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(shutil.which("chromium"))
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(shutil.which("chromedriver"))), options=opts)
    driver.set_window_size(1280, 900)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, path: Path, width: int = 1280) -> None:
    driver.set_window_size(width, 900)
    driver.get(path.resolve().as_uri())
    driver.get_log("browser")  # what an earlier page logged is not this page's


def assert_clean(driver: Any) -> None:
    """No console message of level SEVERE, and every resource the page loaded is local."""
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function(e){return e.name;})"
    )
    assert all(u.startswith(("file:", "data:")) for u in loaded), loaded
    html = driver.page_source
    assert "<link" not in html and " src=" not in html  # nothing fetched: all inline


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def screenshot(driver: Any, out: Path) -> None:
    """The whole page (the window made as tall as the document), saved as a PNG."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.set_window_size(width, min(int(height) + 120, 12000))
    assert driver.save_screenshot(str(out))
    assert png_size(out)[0] >= min(width, 300)


def fits_the_width(driver: Any, width: int) -> None:
    """At a phone's width the page itself does not scroll sideways (wide tables and charts
    scroll inside their own boxes)."""
    open_width = driver.execute_script("return document.documentElement.clientWidth")
    scroll = driver.execute_script("return document.documentElement.scrollWidth")
    assert open_width <= width and scroll <= open_width + 1


@pytest.mark.data
def test_meeting_page_in_chromium(runs: dict[str, Path], browser: Any) -> None:
    from selenium.webdriver.common.by import By

    run = runs["meeting"]
    open_page(browser, run / "index.html")
    assert (
        browser.find_element(By.TAG_NAME, "h1").text == "Meeting: BTCUSDT at 2023-04-20T12:00:00Z"
    )
    chart = browser.find_element(By.ID, "price-chart")
    assert len(chart.find_elements(By.CSS_SELECTOR, "polyline.series")) == 1
    levels = [
        e.get_attribute("textContent") for e in chart.find_elements(By.CSS_SELECTOR, ".level title")
    ]
    assert [lv.split()[0] for lv in levels] == ["entry", "stop-loss", "take-profit"]
    assert chart.find_elements(By.CSS_SELECTOR, "rect.after")  # the data goes on after
    assert chart.find_elements(By.CSS_SELECTOR, ".mark")  # the entry's fill (meet fed the bar)
    # the orders carry their prices; the fill is there
    orders = browser.find_elements(By.CSS_SELECTOR, "tr.order")
    assert [o.find_elements(By.TAG_NAME, "td")[0].text for o in orders] == [
        "entry", "stop loss", "take profit",
    ]  # fmt: skip
    assert all(o.find_elements(By.TAG_NAME, "td")[4].text not in {"", "—"} for o in orders)
    assert browser.find_elements(By.CSS_SELECTOR, "tr.fill")
    # gate rules in rule order
    rules = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.rule code")]
    assert len(rules) >= 15 and rules == sorted(rules, key=rule_order)
    # every evidence link lands on a fact; news facts link to their articles
    for a in browser.find_elements(By.CSS_SELECTOR, ".ev a"):
        target = a.get_attribute("href").split("#", 1)[1]
        assert browser.find_elements(By.ID, target), target
    news = browser.find_elements(By.CSS_SELECTOR, "#memo a[href^='https://']")
    assert news and all(a.get_attribute("rel") == "noopener noreferrer" for a in news)
    assert {h.text.split()[0] for h in browser.find_elements(By.CSS_SELECTOR, "h3.kind")} >= {
        "market", "technical", "news",
    }  # fmt: skip
    text = browser.find_element(By.TAG_NAME, "body").text
    journal = json.loads((run / "journal.json").read_text())
    budget = journal["meta"]["config"]["budget"]  # the settings in force (6 unless changed)
    spent = len(journal["meetings"][-1]["interrupts"])
    assert "revised Revised" not in text
    assert f"Budget: {spent} of {budget} interrupt(s) spent" in text
    stages = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#ailog tr.stage")]
    assert {"QUALIFY", "ENTER"} <= set(stages)
    assert_clean(browser)
    screenshot(browser, run / "screenshot.png")
    open_page(browser, run / "index.html", PHONE)
    fits_the_width(browser, PHONE)
    assert_clean(browser)
    screenshot(browser, run / "screenshot-phone.png")
    # meet's own page is the same view
    open_page(browser, run / "meeting.html")
    assert browser.find_element(By.ID, "price-chart") and browser.find_elements(
        By.CSS_SELECTOR, "tr.fill"
    )
    assert_clean(browser)


@pytest.mark.data
def test_replay_page_in_chromium(runs: dict[str, Path], browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    run = runs["replay"]
    ledger = json.loads((run / "ledger.json").read_text())
    desk_rows = [r for r in ledger["decisions"] if r["desk"] == "replay"]
    open_page(browser, run / "index.html")
    lines = browser.find_elements(By.CSS_SELECTOR, "#equity-chart polyline.series")
    assert {e.get_attribute("data-name") for e in lines} == {
        "desk", "desk_no_debate", "buy_and_hold", "sma_cross",
    }  # fmt: skip
    for s in ("BTCUSDT", "ETHUSDT"):
        chart = browser.find_element(By.ID, f"trades-chart-{s}")
        assert chart.find_elements(By.CSS_SELECTOR, "polyline.series")  # the price
    report = json.loads((run / "report.json").read_text())
    n_trades = sum(len(t) for t in report["trades"].values())
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg[id^=trades-chart] .mark")) == n_trades
    assert "Does the debate pay?" in browser.find_element(By.ID, "ablation").text

    rows = browser.find_elements(By.CSS_SELECTOR, "#meetings tbody tr")
    assert len(rows) == len(desk_rows) > 0
    assert any("%" in r.find_elements(By.TAG_NAME, "td")[-1].text for r in rows)  # reviewed
    # sort by confidence, both ways
    th = browser.find_elements(By.CSS_SELECTOR, "#meetings th")[4]

    def confidences() -> list[float]:
        return [
            float(r.find_elements(By.TAG_NAME, "td")[4].get_attribute("data-v"))
            for r in browser.find_elements(By.CSS_SELECTOR, "#meetings tbody tr")
        ]

    th.click()
    assert confidences() == sorted(confidences())
    th.click()
    assert confidences() == sorted(confidences(), reverse=True)
    # filter by action
    action = desk_rows[0]["action"]
    Select(browser.find_element(By.ID, "f-action")).select_by_visible_text(action)
    shown = [
        r for r in browser.find_elements(By.CSS_SELECTOR, "#meetings tbody tr") if r.is_displayed()
    ]
    want = sum(1 for r in desk_rows if r["action"] == action)
    assert len(shown) == want
    assert browser.find_element(By.ID, "shown").text == f"{want} of {len(desk_rows)} meetings"
    assert_clean(browser)
    Select(browser.find_element(By.ID, "f-action")).select_by_index(0)
    screenshot(browser, run / "screenshot.png")

    # each row opens its meeting's page, which links back
    open_page(browser, run / "index.html")
    link = browser.find_element(By.CSS_SELECTOR, "#meetings tbody tr a")
    link.click()
    assert browser.current_url.endswith(".html") and "/meetings/" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Meeting: ")
    assert browser.find_elements(By.CSS_SELECTOR, "#price-chart polyline.series")
    assert browser.find_elements(By.CSS_SELECTOR, "tr.rule")
    assert browser.find_elements(By.CSS_SELECTOR, ".turn")  # the debate, from the AI log
    assert browser.find_elements(By.CSS_SELECTOR, "#ailog tr.stage")
    for a in browser.find_elements(By.CSS_SELECTOR, ".ev a"):
        assert browser.find_elements(By.ID, a.get_attribute("href").split("#", 1)[1])
    assert_clean(browser)
    browser.find_element(By.LINK_TEXT, "← all meetings of the replay").click()
    assert browser.current_url.endswith("index.html#meetings-h")

    open_page(browser, run / "index.html", PHONE)
    fits_the_width(browser, PHONE)
    assert_clean(browser)
    screenshot(browser, run / "screenshot-phone.png")


def test_hand_made_pages_in_chromium(tmp_path: Path, browser: Any) -> None:
    """Without the real data too: a hand-made replay and meeting open cleanly, and the browser is
    required (this test fails rather than skips when it is missing)."""
    from selenium.webdriver.common.by import By

    run = _replay_run(tmp_path)
    write_view(run, store=tmp_path / "no-store")
    open_page(browser, run / "index.html")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#meetings tbody tr")) == 1
    browser.find_element(By.CSS_SELECTOR, "#meetings tbody tr a").click()
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Meeting: BTCUSDT")
    assert_clean(browser)
    meet = tmp_path / "runs" / "meet-X"
    meet.mkdir()
    (meet / "journal.json").write_text(json.dumps({"meetings": [_rich_meeting()]}))
    write_view(meet, store=tmp_path / "no-store")
    open_page(browser, meet / "index.html")
    rules = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "tr.rule code")]
    assert rules == ["R00_stale", "R05_entry_interval", "R06_stop_side", "R14_entry_price"]
    assert_clean(browser)
    screenshot(browser, meet / "screenshot.png")
    assert png_size(meet / "screenshot.png")[1] > 600
