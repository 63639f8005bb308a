"""The analysts' backfill form in a real browser: `airflow standalone` (as in the smoke test:
free ports, this repository's dags/ and plugins/, SimpleAuthManager) driven by Debian's Chromium
through Selenium, headless.

1. log in on the login page as admin;
2. open news_backfill, open its Trigger form, fill start/end (three past days whose captures
   are in the archive), sources, mode reprocess, target live, and submit;
3. the run page shows the run reaching success; REST says every task instance succeeded and
   the search engine (the `engine` fixture) holds the documents, written by this run;
4. bad input is refused in the form before any run exists, each message naming its field (start
   after end, an end in the future, an unknown source typed into the configuration JSON, an
   empty range), and REST counts no new run;
5. the task instance page of the unit shows the extra link "Kibana: documents of this run",
   pointing at KIBANA_URL's Discover for this run (not followed).

Every step saves a screenshot (directory: env NEWSFLOW_ARTIFACTS, else the test's tmp_path) and
prints its path and its duration. On failure the output has Airflow's logs and the tail of the
page source. Waits are explicit (WebDriverWait, or REST polling with a deadline), never sleeps.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from pipeline.index.connection import READ_ALIAS
from tests.distributed.stack import free_port, wait_for
from tests.e2e.site import ARTICLES, FixtureSite, archive_pages, write_sources
from tests.search_target import SearchTarget
from tests.smoke.test_airflow_smoke import airflow_logs, api_log_in, standalone, standalone_env

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
               "--window-size=1400,1000")
FORM_SHOT_HEIGHT = 2200  # the whole trigger form in one screenshot (the README's picture)

USER, PASSWORD = "admin", "browser-test-password"
DAG_ID = "news_backfill"
KIBANA_URL = "http://kibana.example:5601"
KIBANA_LINK = "Kibana: documents of this run"
SOURCE = "rts"  # tests.e2e.site.write_sources: the fixture site's source
START_DEADLINE_S = 150
PARSE_DEADLINE_S = 90
RUN_DEADLINE_S = 180
UI_WAIT_S = 30
SUBMIT_WAIT_S = 60

OPEN_DIALOG = "[role=dialog][data-state=open]"
RUN_PAGE = re.compile(rf"/dags/{DAG_ID}/runs/([^/?#]+)$")


# --------------------------------------------------------------------------- bookkeeping
@dataclass
class Timings:
    started: float = field(default_factory=time.monotonic)
    rows: list[tuple[str, float]] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.rows.append((name, seconds))
        print(f"[timing] {name}: {seconds:.1f} s")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.add(name, time.monotonic() - t0)

    def report(self) -> str:
        lines = [f"  {name:<40} {seconds:6.1f} s" for name, seconds in self.rows]
        lines.append(f"  {'whole test':<40} {time.monotonic() - self.started:6.1f} s")
        return "timings:\n" + "\n".join(lines)


def artifacts_dir(tmp_path: Path) -> Path:
    raw = os.environ.get("NEWSFLOW_ARTIFACTS")
    path = Path(raw) if raw else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Backfill:
    """The three archived days, as the form takes them."""

    first_day: datetime
    days: int = 3

    @property
    def start(self) -> str:
        return self.first_day.date().isoformat()

    @property
    def end(self) -> str:
        return (self.first_day + timedelta(days=self.days - 1)).date().isoformat()

    def captures(self) -> list[datetime]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]


@dataclass(frozen=True)
class Refusal:
    name: str
    fields: tuple[str, ...]  # the message must name one of these
    start: str
    end: str
    sources: tuple[str, ...] = (SOURCE,)

    @property
    def conf(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "sources": list(self.sources), "mode": "reprocess",
                "target": "live"}


def refusals(backfill: Backfill, now: datetime) -> list[Refusal]:
    return [
        Refusal("start-after-end", ("start",), start=backfill.end, end=backfill.start),
        Refusal("end-in-future", ("end",), start=backfill.start, end=(now + timedelta(days=3)).date().isoformat()),
        Refusal("unknown-source", ("sources",), start=backfill.start, end=backfill.end, sources=("no-such-source",)),
        Refusal("empty-range", ("start", "end"), start="2026-01-05T10:00Z", end="2026-01-05T10:00Z"),
    ]


def names_field(message: str, fields: tuple[str, ...]) -> bool:
    """A line of the message starts with the field (`start: …`, `- end: …`: the form guard), or
    Airflow's own Params check names it (`Invalid input for param sources: …`)."""
    return any(re.search(rf"^\W*{f}\s*:", message, re.M) or re.search(rf"\bparam {f}\b", message)
               for f in fields)


# --------------------------------------------------------------------------- Airflow
def airflow_env(tmp_path: Path, home: Path, port: int, site: FixtureSite, engine: SearchTarget) -> dict[str, str]:
    return standalone_env(home, port, user=USER, extra={
        "NEWSFLOW_SOURCES": str(write_sources(tmp_path / "sources.yaml", site)),
        "NEWSFLOW_ARCHIVE": str(tmp_path / "archive"),
        "NEWSFLOW_TASK_RETRIES": "1",
        "NEWSFLOW_RETRY_DELAY_S": "2",
        # NEWSFLOW_BACKFILL_WORKERS unset: `auto`, a pool of NER processes forked inside the task
        "ES_URL": engine.url,
        "KIBANA_URL": KIBANA_URL,
    })


@dataclass
class Api:
    client: httpx.Client

    def runs(self) -> list[dict[str, Any]]:
        resp = self.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns", params={"limit": 100})
        resp.raise_for_status()
        return list(resp.json()["dag_runs"])

    def run(self, run_id: str) -> dict[str, Any]:
        resp = self.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}")
        resp.raise_for_status()
        return dict(resp.json())

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        resp = self.client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances")
        resp.raise_for_status()
        return list(resp.json()["task_instances"])

    def summary(self, run_id: str) -> list[tuple[str, int, str | None]]:
        return sorted((t["task_id"], t["map_index"], t["state"]) for t in self.task_instances(run_id))


@contextmanager
def connect_api(base: str) -> Iterator[Api]:
    """REST API v2 with a JWT, once the API server answers."""
    with httpx.Client(base_url=base, timeout=20) as client:
        api_log_in(client, USER, PASSWORD, START_DEADLINE_S)
        yield Api(client)


def wait_for_dag(api: Api) -> None:
    wait_for(f"{DAG_ID} parsed", lambda: api.client.get(f"/api/v2/dags/{DAG_ID}").status_code == 200,
             PARSE_DEADLINE_S)
    errors = api.client.get("/api/v2/importErrors").json()["import_errors"]
    ours = [e for e in errors if e["filename"].endswith(f"{DAG_ID}.py")]
    assert not ours, f"{DAG_ID}.py does not import: {ours}"
    plugins = [p["name"] for p in api.client.get("/api/v2/plugins").json()["plugins"]]
    print(f"Airflow plugins: {', '.join(plugins) or 'none'}")


# --------------------------------------------------------------------------- the browser
def chrome(profile: Path) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    return driver


@dataclass
class Ui:
    driver: WebDriver
    base: str
    artifacts: Path

    def wait(self, timeout: float = UI_WAIT_S) -> WebDriverWait:
        return WebDriverWait(self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,
                                                                       ElementClickInterceptedException))

    def visible(self, by: str, selector: str, timeout: float = UI_WAIT_S) -> WebElement:
        return self.wait(timeout).until(ec.visibility_of_element_located((by, selector)),
                                        f"not visible within {timeout:.0f} s: {selector}")

    def clickable(self, by: str, selector: str, timeout: float = UI_WAIT_S) -> WebElement:
        return self.wait(timeout).until(ec.element_to_be_clickable((by, selector)),
                                        f"not clickable within {timeout:.0f} s: {selector}")

    def click(self, by: str, selector: str, timeout: float = UI_WAIT_S) -> None:
        """Find and click; again when React re-rendered the element in between (stale) or
        something lay over it for a moment."""
        def clicked(driver: WebDriver) -> bool:
            element = ec.element_to_be_clickable((by, selector))(driver)
            if not element:
                return False
            element.click()
            return True

        self.wait(timeout).until(clicked, f"not clicked within {timeout:.0f} s: {selector}")

    def show(self, by: str, selector: str, block: str = "center") -> None:
        """Scroll the element into the window (for a screenshot)."""
        def shown(driver: WebDriver) -> bool:
            element = driver.find_element(by, selector)
            driver.execute_script(f"arguments[0].scrollIntoView({{block: '{block}'}})", element)
            return True

        self.wait().until(shown, f"not shown: {selector}")

    def shot(self, name: str) -> Path:
        path = self.artifacts / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), f"screenshot {path} not written"
        print(f"screenshot: {path}")
        return path

    def page_tail(self, chars: int = 4000) -> str:
        try:
            return self.driver.page_source[-chars:]
        except WebDriverException as exc:
            return f"(page source unavailable: {exc.msg})"


@contextmanager
def browser(profile: Path, base: str, artifacts: Path) -> Iterator[Ui]:
    driver = chrome(profile)
    try:
        ui = Ui(driver, base, artifacts)
        grant_clipboard(ui)
        yield ui
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def grant_clipboard(ui: Ui) -> None:
    """The configuration JSON is pasted into its editor, as an analyst would (typed keys fight
    the editor's auto-closing brackets)."""
    ui.driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": ui.base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})


# --------------------------------------------------------------------------- steps
def log_in(ui: Ui) -> None:
    ui.driver.get(f"{ui.base}/")
    ui.visible(By.NAME, "username").send_keys(USER)
    ui.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    ui.click(By.CSS_SELECTOR, "form button[type=submit]")
    ui.wait().until(lambda d: "/auth/login" not in d.current_url, "still on the login page after signing in")
    ui.visible(By.CSS_SELECTOR, "a[href='/dags']")
    ui.shot("1-logged-in")


def dialog_title(driver: WebDriver) -> str:
    return " ".join(driver.find_element(By.CSS_SELECTOR, f"{OPEN_DIALOG} h2").text.split())


def open_trigger_form(ui: Ui) -> None:
    ui.driver.get(f"{ui.base}/dags/{DAG_ID}")
    ui.click(By.XPATH, "//button[normalize-space()='Trigger']")
    ui.wait().until(lambda d: dialog_title(d) == f"Trigger Dag - {DAG_ID}", "no trigger dialog for the DAG")
    ui.clickable(By.ID, "element_start")  # the Params form is rendered
    unpause = f"//*[@role='dialog' and @data-state='open']//label[contains(normalize-space(), 'Unpause {DAG_ID}')]"
    boxes = ui.driver.find_elements(By.XPATH, f"{unpause}//input")
    if boxes and not boxes[0].is_selected():
        ui.click(By.XPATH, unpause)


def type_keys(ui: Ui, *keys: str) -> None:
    """Keys to the element that has the focus (found again by the browser, never stale)."""
    ActionChains(ui.driver).send_keys(*keys).perform()


def select_all(ui: Ui) -> None:
    ActionChains(ui.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()


def set_text(ui: Ui, name: str, value: str) -> None:
    """A text field of the Params form (`#element_<name>`), emptied then typed."""
    ui.click(By.ID, f"element_{name}")
    select_all(ui)
    type_keys(ui, Keys.DELETE, value)
    ui.wait().until(lambda d: d.find_element(By.ID, f"element_{name}").get_attribute("value") == value,
                    f"field {name} does not hold {value!r}")


def chosen(driver: WebDriver, name: str) -> list[str]:
    hidden = driver.find_elements(By.CSS_SELECTOR, f"#element_{name} input[type=hidden][name=element_{name}]")
    return [v for v in ",".join(e.get_attribute("value") or "" for e in hidden).split(",") if v]


def choose(ui: Ui, name: str, values: list[str]) -> None:
    """A select of the Params form (react-select in `#element_<name>`): cleared with its clear
    button, then each value picked from the menu after typing it."""
    ui.visible(By.ID, f"element_{name}")
    clear = f"#element_{name} [aria-label='Clear selected options']"
    if any(b.is_displayed() for b in ui.driver.find_elements(By.CSS_SELECTOR, clear)):
        ui.click(By.CSS_SELECTOR, clear)
        ui.wait().until(lambda d: not chosen(d, name), f"select {name} not cleared")
    for value in values:
        ui.click(By.CSS_SELECTOR, f"#element_{name} input[role=combobox]")
        type_keys(ui, value)
        ui.click(By.XPATH, f"//*[@id='element_{name}']//*[contains(@id, '-option-') and normalize-space()='{value}']")
    ui.wait().until(lambda d: chosen(d, name) == values, f"select {name} does not hold {values}")
    ui.click(By.CSS_SELECTOR, f"{OPEN_DIALOG} h2")  # closes the menu (Escape would close the dialog)


def fits(driver: WebDriver) -> bool:
    rect = driver.find_element(By.CSS_SELECTOR, OPEN_DIALOG).rect
    return bool(rect["y"] >= 0 and rect["y"] + rect["height"] <= driver.execute_script("return window.innerHeight"))


def shoot_form(ui: Ui, name: str) -> Path:
    """The whole dialog in one picture: a taller window for the time of the screenshot."""
    size = ui.driver.get_window_size()
    ui.driver.set_window_size(size["width"], FORM_SHOT_HEIGHT)
    try:
        ui.show(By.CSS_SELECTOR, OPEN_DIALOG, block="start")
        ui.wait().until(fits, "the trigger form does not fit the window")
        path = ui.artifacts / f"{name}.png"
        assert ui.driver.find_element(By.CSS_SELECTOR, OPEN_DIALOG).screenshot(str(path)), f"{path} not written"
        print(f"screenshot: {path}")
        return path
    finally:
        ui.driver.set_window_size(size["width"], size["height"])


def submit(ui: Ui) -> tuple[str, str]:
    """Press Trigger; ('refused', the message the dialog shows) or ('accepted', the run id of
    the run page the UI opens)."""
    ui.click(By.CSS_SELECTOR, f"{OPEN_DIALOG} [data-testid=trigger-dag-submit]")

    def outcome(driver: WebDriver) -> tuple[str, str] | None:
        alerts = [a.text for a in driver.find_elements(By.CSS_SELECTOR, f"{OPEN_DIALOG} [data-testid=error-alert]")
                  if a.is_displayed() and a.text.strip()]
        if alerts:
            return ("refused", alerts[0])
        match = RUN_PAGE.search(driver.current_url)
        return ("accepted", unquote(match.group(1))) if match else None

    return ui.wait(SUBMIT_WAIT_S).until(outcome, "the trigger form showed no error and opened no run")


def paste_conf(ui: Ui, conf: dict[str, Any]) -> None:
    """Replace the configuration JSON (Advanced Options) with `conf`, through the clipboard."""
    toggle = "//*[@role='dialog' and @data-state='open']//button[normalize-space()='Advanced Options']"
    if ui.clickable(By.XPATH, toggle).get_attribute("aria-expanded") != "true":
        ui.click(By.XPATH, toggle)
    editor = f"{OPEN_DIALOG} [role=code]"
    ui.visible(By.CSS_SELECTOR, editor)
    written = ui.driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.writeText(arguments[0]).then(() => done('ok'), e => done(String(e)));",
        json.dumps(conf, indent=2))
    assert written == "ok", f"clipboard not written: {written}"
    ui.click(By.CSS_SELECTOR, editor)  # its cursor takes the keys
    select_all(ui)
    ActionChains(ui.driver).key_down(Keys.CONTROL).send_keys("v").key_up(Keys.CONTROL).perform()
    wanted = [json.dumps(v) for v in conf["sources"]]
    ui.wait().until(lambda d: all(w in d.find_element(By.CSS_SELECTOR, editor).text for w in wanted),
                    f"the editor does not show {wanted}")
    ui.click(By.XPATH, "//label[normalize-space()='Configuration JSON']")  # blur: the form takes the JSON


def fill_backfill(ui: Ui, backfill: Backfill) -> None:
    set_text(ui, "start", backfill.start)
    set_text(ui, "end", backfill.end)
    choose(ui, "sources", [SOURCE])
    choose(ui, "mode", ["reprocess"])
    choose(ui, "target", ["live"])


def header_state(ui: Ui) -> str | None:
    try:
        badges = ui.driver.find_elements(By.CSS_SELECTOR, "[data-testid=header-card] [data-testid=state-badge]")
        return badges[0].text.strip() if badges else None
    except WebDriverException:
        return None


def wait_for_success(ui: Ui, api: Api, run_id: str) -> None:
    """The run page (open since the trigger) shows the run; poll REST until the run is over and
    the page's header badge says Success (reloading the page when it lags behind)."""
    ui.visible(By.XPATH, f"//*[@data-testid='header-card']//h2[normalize-space()='{run_id}']")

    def done() -> str | None:
        state = api.run(run_id)["state"]
        if state == "failed":
            return "failed"
        if state != "success":
            return None
        if header_state(ui) == "Success":
            return "success"
        ui.driver.refresh()
        return None

    outcome = wait_for(f"run {run_id} over", done, RUN_DEADLINE_S, 2)
    assert outcome == "success", f"run {run_id} failed: {api.summary(run_id)}"


def check_run(api: Api, engine: SearchTarget, run_id: str, backfill: Backfill) -> None:
    conf = api.run(run_id)["conf"]
    sent = {k: conf.get(k) for k in ("start", "end", "sources", "mode", "target")}
    assert sent == {"start": backfill.start, "end": backfill.end, "sources": [SOURCE], "mode": "reprocess",
                    "target": "live"}, f"the run's conf is not what the form showed: {conf}"
    summary = api.summary(run_id)
    assert {state for *_, state in summary} == {"success"}, f"not every task instance succeeded: {summary}"
    assert {task for task, *_ in summary} == {"validate", "plan_units", "prepare_target", "run_unit", "finish"}, summary
    count = engine.count(READ_ALIAS)
    assert count == len(ARTICLES), f"{count} documents on {READ_ALIAS} ({engine.kind} engine), expected {len(ARTICLES)}"
    written_by = {doc.get("run_id") for doc in engine.search({"match_all": {}}, index=READ_ALIAS)}
    assert written_by == {run_id}, f"documents written by {written_by}, expected {run_id}"
    print(f"{count} documents on {READ_ALIAS} ({engine.kind} engine), all written by {run_id}")


def check_refusal(ui: Ui, api: Api, case: Refusal, backfill: Backfill) -> None:
    before = len(api.runs())
    open_trigger_form(ui)
    if case.sources == (SOURCE,):
        set_text(ui, "start", case.start)
        set_text(ui, "end", case.end)
    else:  # the sources select offers only configured sources: an unknown one is typed as JSON
        set_text(ui, "start", backfill.start)
        set_text(ui, "end", backfill.end)
        paste_conf(ui, case.conf)
    kind, detail = submit(ui)
    assert kind == "refused", (f"{case.name}: the form was accepted, run {detail} created (is the form guard, "
                               f"plugins/newsflow_backfill_guard.py, loaded by the API server?)")
    ui.show(By.CSS_SELECTOR, f"{OPEN_DIALOG} [data-testid=error-alert]")
    ui.shot(f"4-refused-{case.name}")
    print(f"{case.name}: {' | '.join(detail.splitlines())}")
    assert names_field(detail, case.fields), f"{case.name}: the message does not name {case.fields}: {detail!r}"
    after = api.runs()
    assert len(after) == before, f"{case.name}: a run was created: {[r['dag_run_id'] for r in after]}"


def check_kibana_link(ui: Ui, run_id: str) -> None:
    """The unit's task instance page, Details tab: the extra link, as analysts see it."""
    ui.driver.get(f"{ui.base}/dags/{DAG_ID}/runs/{quote(run_id, safe='')}")
    ui.click(By.CSS_SELECTOR, "table a[href$='/tasks/run_unit/mapped/0']")
    ui.wait().until(lambda d: "/tasks/run_unit/mapped/0" in d.current_url, "the unit's page did not open")
    ui.click(By.XPATH, "//a[normalize-space()='Details']")
    link = f"//a[normalize-space()='{KIBANA_LINK}']"
    ui.visible(By.XPATH, link)
    ui.show(By.XPATH, link)
    ui.shot("5-kibana-link")
    href = str(ui.wait().until(lambda d: d.find_element(By.XPATH, link).get_attribute("href"), "the link has no href"))
    print(f"{KIBANA_LINK}: {href}")
    assert href.startswith(f"{KIBANA_URL}/app/discover"), href
    assert "newsflow-news-articles" in href, href
    assert f'run_id:"{run_id}"' in unquote(href), href


# --------------------------------------------------------------------------- the test
def drive(ui: Ui, api: Api, engine: SearchTarget, backfill: Backfill, now: datetime, timings: Timings) -> None:
    with timings.step("1 log in"):
        log_in(ui)
    with timings.step("2 fill and submit the form"):
        open_trigger_form(ui)
        fill_backfill(ui, backfill)
        shoot_form(ui, "2-backfill-form")
        kind, run_id = submit(ui)
        assert kind == "accepted", f"the backfill form was refused: {run_id}"
        print(f"run {run_id} created from the form")
    with timings.step("3 run reaches success"):
        wait_for_success(ui, api, run_id)
        ui.shot("3-run-success")
        check_run(api, engine, run_id, backfill)
    for case in refusals(backfill, now):
        with timings.step(f"4 refused: {case.name}"):
            check_refusal(ui, api, case, backfill)
    with timings.step("5 Kibana link"):
        check_kibana_link(ui, run_id)


@pytest.mark.timeout(600)
def test_backfill_form_in_a_browser(tmp_path: Path, httpserver, engine: SearchTarget) -> None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        needs = f"Debian's {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: the browser test needs {needs}; scripts/test installs them as root")
        pytest.skip(f"browser test skipped: needs {needs}")
    timings = Timings()
    now = datetime.now(UTC)
    backfill = Backfill(first_day=(now - timedelta(days=4)).replace(hour=9, minute=0, second=0, microsecond=0))
    site = FixtureSite(base=f"http://127.0.0.1:{httpserver.port}")
    site.install(httpserver)
    for i, when in enumerate(backfill.captures()):
        archive_pages(site, when, archive=str(tmp_path / "archive"), run_id=f"day{i}")
    home = tmp_path / "airflow"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}))
    port = free_port()
    print(f"engine: {engine.kind} at {engine.url}; backfill {backfill.start} → {backfill.end}")
    try:
        with standalone(home, airflow_env(tmp_path, home, port, site, engine)), ExitStack() as stack:
            launched = time.monotonic()
            with timings.step("Chromium start"):  # while Airflow starts
                ui = stack.enter_context(browser(tmp_path / "chrome-profile", f"http://127.0.0.1:{port}",
                                                 artifacts_dir(tmp_path)))
            try:
                with connect_api(ui.base) as api:
                    wait_for_dag(api)
                    timings.add("Airflow start (API healthy, DAG parsed)", time.monotonic() - launched)
                    drive(ui, api, engine, backfill, now, timings)
            except BaseException:
                report_failure(ui, home)
                raise
    finally:
        print(timings.report())


def report_failure(ui: Ui, home: Path) -> None:
    print(airflow_logs(home, home / "standalone.log"))
    try:
        ui.shot("failure")
        print(f"===== page source tail ({ui.driver.current_url}) =====")
    except WebDriverException as exc:
        print(f"(no screenshot: {exc.msg})")
    print(ui.page_tail())
