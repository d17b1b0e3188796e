"""A person's path through the web UI, in a real headless Chromium: sign in, rate, submit."""

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import PROJECT, run_kto, table_rows, write_generations

from kto.config import load_config

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("KTO_CHROMIUM", "/usr/bin/chromium")
# Where the screenshot is kept for people to look at (CI sets this to its artifacts folder).
ARTIFACTS = Path(os.environ.get("KTO_TEST_ARTIFACTS", PROJECT / ".test-artifacts"))


def test_an_annotator_gives_a_thumbs_up_in_the_browser(annotation_project, argilla_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set KTO_CHROMIUM)")
    write_generations(annotation_project, prompts=2, models=1)
    assert run_kto(annotation_project, "annotate").returncode == 0
    dataset = load_config(annotation_project / "project.yaml").argilla.dataset
    login = argilla_server.logins["annotator1"]

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{argilla_server.url}/sign-in")
        page.get_by_label("Username").fill(login["username"])
        page.get_by_label("Password").fill(login["password"])
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text(dataset).first.click()
        page.locator("label[for=rating_up]").click()
        with page.expect_response(lambda r: "/responses" in r.url and r.request.method != "GET") as answer:
            page.get_by_role("button", name="Submit").click()
        assert answer.value.ok, answer.value.status
        submitted = page.get_by_role("listitem").filter(has_text=re.compile("submitted", re.IGNORECASE))
        sync_api.expect(submitted).to_contain_text("1", timeout=15_000)  # the UI's own counter
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "annotator-gives-a-thumbs-up.png")
        browser.close()

    status = run_kto(annotation_project, "status")
    assert status.returncode == 0, status.stderr
    rows = table_rows(status.stderr)
    assert rows["annotator1"] == ["1", "0", "0", "1"]  # submitted, discarded, draft, pending
    assert rows["team/model-0"] == ["1", "0", "100%"]
