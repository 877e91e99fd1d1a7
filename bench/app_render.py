"""First render of the inspector on a LOGDIR holding one analysed run of 1000 trivariate
neurons x 100 checkpoints.

Run:  .venv/bin/python bench/app_render.py [--neurons 1000] [--checkpoints 100] [--keep DIR]

Builds the run (synthetic layer-like probe data, 256 probe samples, written with RunWriter)
and analyses it with ``infomorph analyze`` (not timed here; see analysis_throughput.py). Then
times, with Streamlit's AppTest and every cache cleared first, the script run of the runs
page, the layer page and a neuron page; and, where Chromium is installed, the wall time in a
real headless browser from navigation until all charts of the layer page are drawn.
Baseline in the same run: loading the analysis file itself (``open_analysis``), the floor any
page that shows the layer must pay.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _timing import machine, run_script, write_json
from analysis_throughput import make_run

from inspector.allocator import keep_freed_memory
from inspector.cli import main as cli
from storage import open_analysis

APP = str(Path(__file__).parents[1] / "app.py")


def cold_render(logdir: Path, **query) -> tuple[float, int]:
    """Seconds of one cold script run of the app at ``query``, and its number of charts."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    st.cache_resource.clear()
    os.environ["INFOMORPH_LOGDIR"] = str(logdir)
    at = AppTest.from_file(APP, default_timeout=300)
    for k, v in query.items():
        at.query_params[k] = v
    start = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - start
    if at.exception or at.error:
        raise SystemExit(f"the page failed: {[e.value for e in (*at.exception, *at.error)]}")
    return seconds, len(at.get("vega_lite_chart"))


def browser_render(logdir: Path, query: str, charts: int):
    """Seconds in headless Chromium against a freshly started server, each until the page is
    drawn: the runs page first (cold), the runs page again (the browser's cost of loading the
    app: the baseline), the layer page through the runs page's button at once (no reload; the
    run's analysis is loaded on that click: what a user does), and the deep link ``query``
    (a reload; warm caches).
    None without Chromium."""
    chromium = shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "inspector", "view", str(logdir),
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def shown(query: str, done) -> float:
                start = time.perf_counter()
                page.goto(f"{url}/?{query}")
                done().wait_for(timeout=120_000)
                return time.perf_counter() - start

            table = lambda: page.get_by_text("1 of 1 runs")  # noqa: E731
            charts_drawn = lambda: page.locator(  # noqa: E731
                "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
            ).nth(charts - 1)
            first = shown("", table)
            again = shown("", table)
            # In-app navigation (no page reload): the button on the runs page, cold caches.
            start = time.perf_counter()
            page.get_by_role("button", name="Open its layer page").click()
            charts_drawn().wait_for(timeout=120_000)
            click = time.perf_counter() - start
            link = shown(query, charts_drawn)  # a deep link: reloads the app, warm caches
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return first, again, click, link


def main() -> None:
    keep_freed_memory()  # as every infomorph command (inspector.allocator)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurons", type=int, default=1000)
    parser.add_argument("--checkpoints", type=int, default=100)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the LOGDIR here")
    parser.add_argument("--repeats", type=int, default=3,
                        help="browser measurements, each with a fresh server (median)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    logdir = args.keep or Path(tempfile.mkdtemp())
    run = logdir / "big"
    try:
        if not (run / "analysis.nc").exists():
            shutil.rmtree(run, ignore_errors=True)
            t = time.perf_counter()
            make_run(run, args.neurons, args.checkpoints, args.samples, 0)
            print(f"wrote the run in {time.perf_counter() - t:.0f} s", flush=True)
            t = time.perf_counter()
            if cli(["analyze", str(logdir), "--quiet", "--workers", "1"]):
                raise SystemExit("analysis failed")
            print(f"analysed it in {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        tree = open_analysis(run)
        load = time.perf_counter() - t
        step = int(tree["hidden"].ds.checkpoint[-1])
        results = {"neurons": args.neurons, "checkpoints": args.checkpoints,
                   "analysis_MB": round((run / "analysis.nc").stat().st_size / 2**20, 1),
                   "open_analysis_s": round(load, 3)}
        print(f"{args.neurons} neurons x {args.checkpoints} checkpoints; "
              f"analysis.nc {results['analysis_MB']} MB; open_analysis {load:.2f} s")
        charts_of = {}
        for name, query in (("runs", {}), ("layer", {"run": "big", "layer": "hidden"}),
                            ("neuron", {"run": "big", "layer": "hidden", "neuron": "7",
                                        "checkpoint": str(step)})):
            seconds, charts = cold_render(logdir, **query)
            results[f"{name}_page_s"] = round(seconds, 3)
            charts_of[name] = charts
            print(f"  {name:7s} page, cold script run: {seconds:6.2f} s  ({charts} charts; "
                  f"{seconds / load:5.2f}x open_analysis)")
        runs = [browser_render(logdir, "run=big&layer=hidden", charts_of["layer"])
                for _ in range(args.repeats)]
        if runs[0] is not None:
            first, again, click, link = (statistics.median(t) for t in zip(*runs, strict=True))
            results.update(runs_page_browser_s=round(first, 3),
                           runs_page_browser_again_s=round(again, 3),
                           layer_page_browser_click_s=round(click, 3),
                           layer_page_browser_link_s=round(link, 3))
            n = charts_of["layer"]
            print(f"  in Chromium (fresh server and browser each time), until drawn; median of "
                  f"{args.repeats}:\n"
                  f"    runs page, first load              {first:6.2f} s\n"
                  f"    runs page, reloaded                {again:6.2f} s  (baseline)\n"
                  f"    layer page by its button           {click:6.2f} s  "
                  f"({click / again:5.2f}x baseline; {n} charts)\n"
                  f"    layer page by deep link, reloaded  {link:6.2f} s  "
                  f"({link / again:5.2f}x baseline)")
        print(json.dumps(results))
        print(machine())
        if args.json:
            write_json(args.json, "app_render", [results])
    finally:
        if args.keep is None:
            shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    run_script(main)
