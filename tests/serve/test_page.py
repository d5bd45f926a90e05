"""The service's web page in headless Chromium (Debian's chromium and chromium-driver, driven
by python3-selenium): load the page, upload an image, wait for its result, and check the score
shown equals `oiad score`'s. A screenshot is left in $OIAD_TEST_OUTPUT (default: the system's
temporary folder).

Environment (set by CTest): OIAD_CLI (the oiad executable), OIAD_TEST_FIXTURES (the folder
where DetectCliFixture.TrainModel left its model and images)."""

import json
import os
import signal
import subprocess
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CLI = os.environ["OIAD_CLI"]
FIXTURES = os.path.join(os.environ["OIAD_TEST_FIXTURES"], "detect_cli")
MODEL = os.path.join(FIXTURES, "m.oiad")


def cli_score(image):
    out = subprocess.run([CLI, "--threads", "1", "score", "--model", MODEL, image],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[0])


@pytest.fixture
def service():
    p = subprocess.Popen([CLI, "--threads", "1", "serve", "--model", "digits=" + MODEL, "--port", "0"],
                         stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(p.stdout.readline())
        yield ready["listening"]
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900"):
        options.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_page_scores_an_upload_like_the_cli(service, browser):
    images = [os.path.join(FIXTURES, "set", "a", "5.png"), os.path.join(FIXTURES, "set", "b", "7.png")]
    browser.get(service)
    wait = WebDriverWait(browser, 60)
    # The model card: loaded from /v1/models into the selector and the card.
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#model option[value='digits']")))
    card = browser.find_element(By.ID, "card").text
    assert "Normal class" in card and "one-sided" in card
    browser.find_element(By.ID, "files").send_keys("\n".join(images))
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tr.result[data-state]")) == len(images))
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.result")
    for row, image in zip(rows, images):
        assert row.get_attribute("data-state") == "done", row.text
        shown = float(row.find_element(By.CSS_SELECTOR, "td.score").get_attribute("data-score"))
        expected = cli_score(image)
        assert shown == expected["score"]
        decision = row.find_element(By.CSS_SELECTOR, "td.decision").text
        assert decision == ("anomalous" if expected["anomalous"] else "normal")
        # The change map and the morph strip are drawn (images decoded by the browser).
        pictures = row.find_elements(By.CSS_SELECTOR, "img.pic")
        assert len(pictures) == 2
        for img in pictures:
            assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
    out = os.environ.get("OIAD_TEST_OUTPUT", tempfile.gettempdir())
    os.makedirs(out, exist_ok=True)
    assert browser.save_screenshot(os.path.join(out, "serve_page.png"))
