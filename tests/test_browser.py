"""The inspector in a real browser: headless Chromium (Debian's package) driven by Playwright,
against `infomorph view` serving a real trained run. Set INFOMORPH_CHROMIUM to use another
Chromium binary."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from inspector.logdir import run_dirs
from storage import open_analysis

CHROMIUM = os.environ.get("INFOMORPH_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(trained_logdir):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "view", str(trained_logdir), "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"infomorph view did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.3)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium package "
                    "(`make browser`) or set INFOMORPH_CHROMIUM")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(TIMEOUT_MS)
    yield p
    context.close()


def test_runs_page_lists_the_run(server, page, trained_logdir):
    run = next(iter(run_dirs(trained_logdir)))
    page.goto(server)
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    expect(page.get_by_text("1 of 1 runs")).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    assert run in page.content() or page.get_by_text(run).count()


def test_deep_link_then_click_through(server, page, trained_logdir, tmp_path):
    run = next(iter(run_dirs(trained_logdir)))
    step = int(open_analysis(trained_logdir / run)["hidden"].ds.checkpoint[-1])
    page.goto(f"{server}/?run={run}&layer=hidden&neuron=3&checkpoint={step}")
    expect(page.get_by_text(f"Neuron 3 of layer hidden at step {step}")).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart']").first).to_be_visible()
    page.get_by_role("button", name="next ▶").click()
    expect(page.get_by_text(f"Neuron 4 of layer hidden at step {step}")).to_be_visible()
    assert "neuron=4" in page.url
    # from the layer page, through its button, to a neuron's page
    page.goto(f"{server}/?page=layer&run={run}&layer=hidden")
    expect(page.get_by_role("heading", name="Layer", exact=True)).to_be_visible()
    # composition, simplex and the heatmap tab; the training curves draw when opened
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(3)
    page.get_by_role("tab", name="Goal and accuracy").click()
    expect(page.get_by_text("goal / H(Y)").first).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(4)
    page.get_by_role("tab", name="Classes over training").click()
    expect(page.get_by_text("share of the layer's neurons").first).to_be_visible()
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(3)
    page.get_by_role("tab", name="Neurons x checkpoints").click()
    page.get_by_role("button", name="Open neuron page").click()
    expect(page.get_by_text("Neuron 0 of layer hidden at step")).to_be_visible()
    assert "page=neuron" in page.url
    shot = tmp_path / "neuron.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:4] == b"\x89PNG"
    if os.environ.get("INFOMORPH_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["INFOMORPH_SCREENSHOTS"]) / "neuron.png")


def test_a_click_on_a_heatmap_row_opens_its_neuron(server, page, trained_logdir):
    run = next(iter(run_dirs(trained_logdir)))
    page.goto(f"{server}/?page=layer&run={run}&layer=hidden")
    heatmap = page.locator("[data-testid='stVegaLiteChart']").nth(2)
    expect(heatmap.locator("canvas, svg").first).to_be_visible()
    heatmap.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # Vega attaches its event handlers after the first draw
    box = heatmap.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.55)
    expect(page.get_by_text("of layer hidden at step")).to_be_visible()
    assert "page=neuron" in page.url


def test_download_a_csv(server, page, tmp_path):
    page.goto(f"{server}/?page=export")
    expect(page.get_by_role("heading", name="Export", exact=True)).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="Atom table (csv)").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    text = target.read_text()
    assert target.name == "atoms.csv"
    assert text.startswith("# generator:") and "mean_bits" in text and "{F}{C}" in text
    # written on click (a callable): the per-neuron table too
    with page.expect_download() as info:
        page.get_by_role("button", name="Neuron table (csv)").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    lines = target.read_text().splitlines()
    header = next(line for line in lines if not line.startswith("#"))
    assert target.name == "neurons.csv" and header.startswith("run,preset,seed,layer,sources")
    rows = [line for line in lines if not line.startswith("#")][1:]
    assert len(rows) == 12 * 18 + 10 * 4  # every neuron's atoms: hidden 12 x 18, readout 10 x 4


def test_bad_link_is_a_message(server, page):
    page.goto(f"{server}/?run=../../etc&neuron=1")
    expect(page.get_by_text("no run named '../../etc'")).to_be_visible()
    assert page.get_by_text("Traceback").count() == 0


def test_compare_page_draws_bands_and_classes(server, page, tmp_path):
    page.goto(f"{server}/?page=compare")
    expect(page.get_by_role("heading", name="Compare", exact=True)).to_be_visible()
    # metric bands, the atom's layer-mean bands, the neuron classes per group
    expect(page.locator("[data-testid='stVegaLiteChart']")).to_have_count(3)
    expect(page.get_by_text("Neuron classes of layer").first).to_be_visible()
    with page.expect_download() as info:
        page.goto(f"{server}/?page=export")
        page.get_by_role("button", name="Class table (csv)").click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.name == "classes.csv" and "neuron_class,mean_share" in target.read_text()
    assert page.get_by_text("Traceback").count() == 0
