"""The HTML report and the text summary, checked as text and (when Chromium exists) in a browser."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from implicit_bias.plotting import new_figure
from implicit_bias.report import render_run, summary_table, write_report
from implicit_bias.results import Result, at_least, at_most, close_to, is_true
from implicit_bias.store import write_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VERDICT = "2 of 4 results hold (2 not established: a guard fails), 1 of 2 guards, 1 of 1 sanity check across 2 experiments"


def _figure(title: str, slope: float, log: bool = False):
    fig, ax = new_figure()
    t = np.logspace(0, 4, 40)
    plot = ax.loglog if log else ax.plot  # log axes cost more to draw; one is enough here
    plot(t, t ** slope, label="measured")
    plot(t, 2 * t ** slope, linestyle="--", label="reference")
    ax.set_xlabel("steps (log scale)")
    ax.set_ylabel("gap")
    ax.set_title(title)
    ax.legend()
    return fig


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs: one whose 4 claims hold (two figures), one whose guard fails (a "<b>" name), so its results
    are not established."""
    root = tmp_path_factory.mktemp("report")
    metrics = pd.DataFrame({"series": ["gd"] * 2, "config": [0, 0], "step": [1, 10], "metric": "loss",
                            "value": [1.0, 0.1]})
    good = Result("alpha-good", {"depth": 2, "sizes": (3, 4)},
                  [at_most("gap to X⁺y", 3.14159e-11, 1e-8), close_to("slope", -0.98765, -1.0, 0.05),
                   is_true("converged", True, kind="guard"), is_true("data as drawn", True, kind="sanity")],
                  metrics, {"gap": _figure("gap", -1.0, log=True), "slope_fit": _figure("slope", -0.5)}, wall_time=75.0,
                  notes=["Adam is not min-norm."])
    bad = Result("beta-bad", {"depth": 3},
                 [at_least("<b>bold</b> margin & more", 0.5, 1.0, note="a note", kind="guard"), at_most("ok", 1.0, 2.0),
                  close_to("not measured", float("nan"), 0.0, 1.0)],
                 None, {"margin": _figure("margin", -2.0)}, wall_time=2.0)
    entries = {"alpha-good": {"name": "alpha-good", "summary": "Good things hold.",
                              "description": "It demonstrates one thing. It matters because of another.",
                              "paper": "Soudry et al. 2018"},
               "beta-bad": {"name": "beta-bad", "summary": "Something fails.", "description": "Two. Sentences.",
                            "paper": "Nobody 2020"}}
    dirs = []
    for result in (good, bad):
        dirs.append(root / "runs" / result.experiment)
        write_run(result, dirs[-1], entry=entries[result.experiment])
    index = write_report(dirs, root / "report")
    return root, dirs, index


def test_verdict_summary_counts(runs):
    _, _, index = runs
    page = index.read_text(encoding="utf-8")
    match = re.search(r'<p id="verdict-summary"[^>]*>([^<]*)</p>', page)
    assert match and match.group(1) == VERDICT
    assert "alpha-good · 2/2 results" in page and "beta-bad · results not established" in page
    assert 'href="#alpha-good"' in page and 'href="#beta-bad"' in page
    assert 'id="alpha-good"' in page and 'id="beta-bad"' in page
    assert "1 min 17 s" in page  # total wall time 75 s + 2 s


def test_every_claim_and_verdict_is_written_out(runs):
    _, _, index = runs
    page = index.read_text(encoding="utf-8")
    for name in ("gap to X⁺y", "slope", "converged", "ok", "not measured"):
        assert f"<td>{name}" in page
    assert page.count("✓ holds") == 4 and page.count("✗ FAILS") == 1  # the guard
    assert page.count("✗ not established") == 2  # a result that holds and one that fails, both under the failed guard
    assert '<td class="kind">guard</td>' in page and '<td class="kind">sanity</td>' in page
    assert "3.142e-11" in page and "-0.9877" in page and "±0.05" in page
    assert "It demonstrates one thing. It matters because of another." in page and "Soudry et al. 2018" in page
    assert "Adam is not min-norm." in page
    assert "<details><summary>Configuration</summary>" in page and "&quot;depth&quot;: 2" in page


def test_text_is_escaped(runs):
    _, _, index = runs
    page = index.read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt; margin &amp; more" in page
    assert "<b>bold</b>" not in page


def test_figures_are_embedded_valid_pngs_and_linked(runs):
    _, _, index = runs
    page = index.read_text(encoding="utf-8")
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]+)"', page)
    assert len(images) == 3
    for data, alt in images:
        assert base64.b64decode(data).startswith(PNG_SIGNATURE)
        assert alt.strip()
    links = re.findall(r'href="([^"#]+\.(?:png|pdf))"', page)
    assert len(set(links)) == 6
    for link in links:
        assert (index.parent / link).resolve().exists()
    assert "http://" not in page and "https://" not in page  # nothing fetched from the network


def test_render_run_writes_a_page_inside_the_run(runs):
    _, dirs, _ = runs
    page = render_run(dirs[1])
    assert page == dirs[1] / "index.html"
    text = page.read_text(encoding="utf-8")
    assert "0 of 2 results hold (2 not established: a guard fails), 0 of 1 guard across 1 experiment" in text
    assert 'href="figures/margin.png"' in text


def test_summary_table_lists_every_claim(runs):
    _, dirs, _ = runs
    table = summary_table(dirs)
    lines = table.splitlines()
    assert lines[-1].startswith(VERDICT)
    assert sum(line.lstrip().startswith("FAILS") for line in lines) == 1
    assert sum(line.lstrip().startswith("not established") for line in lines) == 2
    assert sum(line.lstrip().startswith("holds") for line in lines) == 4
    assert "<b>bold</b> margin & more" in table  # plain text: not escaped
    assert "beta-bad: 0 of 2 results hold (2 not established: a guard fails), 0 of 1 guard; 2 claims FAIL" in table
    assert "alpha-good: 2 of 2 results hold, 1 of 1 guard, 1 of 1 sanity check" in table


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def _chromium_args(binary: str, profile: Path) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}"]


@pytest.mark.browser
def test_page_renders_in_headless_chromium(runs, tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("Chromium not installed (CI installs it with `apt-get install -y chromium`)")
    _, _, index = runs
    url = index.resolve().as_uri()
    dom = subprocess.run(_chromium_args(binary, tmp_path / "profile-dom")
                         + ["--virtual-time-budget=5000", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-images-loaded="3/3"' in dom.stdout  # every figure decoded (naturalWidth > 0)
    assert 'id="verdict-summary"' in dom.stdout and VERDICT in dom.stdout
    assert dom.stdout.count("<img ") == 3
    shot = tmp_path / "shot.png"
    run = subprocess.run(_chromium_args(binary, tmp_path / "profile-shot")
                         + [f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars", url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.exists() and shot.read_bytes().startswith(PNG_SIGNATURE)
    assert shot.stat().st_size > 10_000
    if os.environ.get("IB_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["IB_KEEP_SCREENSHOT"])


def test_verdict_text_counts_kinds_apart():
    from implicit_bias.results import verdict_text

    ok = Result("a", {}, [at_most("r", 0.0, 1.0), at_most("g", 0.0, 1.0, kind="guard")])
    voided = Result("b", {}, [at_most("r", 0.0, 1.0), at_most("g", 2.0, 1.0, kind="guard"),
                              is_true("s", True, kind="sanity")])
    assert verdict_text([ok]) == "1 of 1 result holds, 1 of 1 guard"
    assert ok.established and not voided.established
    assert verdict_text([ok, voided]) == ("1 of 2 results hold (1 not established: a guard fails), 1 of 2 guards, "
                                          "1 of 1 sanity check")
    assert voided.status(voided.claims[0]) == "not established" and voided.status(voided.claims[2]) == "holds"
