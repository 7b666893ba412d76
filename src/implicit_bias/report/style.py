"""The report's inline stylesheet and its one tiny inline script (no network, no libraries).

Colours follow the figures' Okabe–Ito palette (bluish green for "holds", vermillion for
"FAILS"); every verdict is also written out in words and marked ✓ / ✗, so nothing
depends on colour alone. A print stylesheet drops navigation, keeps rows and figures
whole and prints the row colours.
"""

from __future__ import annotations

CSS = """
:root { --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa;
  --ok: #00785a; --ok-bg: #e6f4ef; --bad: #b34700; --bad-bg: #fcebe1; --link: #0063a0; color-scheme: light; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 16.5px/1.55 system-ui, -apple-system,
  "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "DejaVu Sans", sans-serif; }
.page { max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 3rem; }
a { color: var(--link); text-underline-offset: 2px; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 .6rem; letter-spacing: -.01em; }
h2 { font-size: 1.45rem; line-height: 1.25; margin: 0; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
header.top { border-bottom: 1px solid var(--line); padding-bottom: 1.2rem; margin-bottom: 1.5rem; }
.verdict { font-size: 1.3rem; font-weight: 650; margin: .2rem 0 1rem; padding: .55rem .9rem;
  border-left: 5px solid var(--ok); background: var(--ok-bg); border-radius: 4px; }
.verdict.bad { border-left-color: var(--bad); background: var(--bad-bg); }
nav.badges { display: flex; flex-wrap: wrap; gap: .45rem; margin: 0 0 1rem; padding: 0; }
.badge { display: inline-block; padding: .18rem .7rem; border-radius: 999px; font-size: .88rem;
  font-weight: 600; text-decoration: none; border: 1px solid var(--ok); color: var(--ok);
  background: var(--ok-bg); white-space: nowrap; }
.badge.bad { border-color: var(--bad); color: var(--bad); background: var(--bad-bg); }
a.badge:hover { filter: brightness(.95); text-decoration: underline; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1.2rem; margin: 0;
  font-size: .9rem; color: var(--muted); }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; font-variant-numeric: tabular-nums; }
section.entry { padding: 1.8rem 0 1.4rem; border-bottom: 1px solid var(--line); scroll-margin-top: 1rem; }
.entry-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .4rem 1rem; }
.lead { font-size: 1.08rem; margin: .5rem 0 .3rem; }
.description { margin: .3rem 0; max-width: 48rem; }
.paper { margin: .3rem 0; color: var(--muted); font-size: .93rem; }
.runinfo { color: var(--muted); font-size: .85rem; margin: .8rem 0 0; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: .86em; }
.table-wrap { overflow-x: auto; }
table.claims { width: 100%; border-collapse: collapse; font-size: .92rem; margin: .4rem 0; }
table.claims th { text-align: left; font-weight: 600; color: var(--muted); border-bottom: 2px solid var(--line);
  padding: .4rem .55rem; white-space: nowrap; }
table.claims td { padding: .42rem .55rem; border-bottom: 1px solid #fff; vertical-align: top; }
table.claims td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: .86rem; }
table.claims td.rel { text-align: center; }
table.claims th.num, table.claims td.num, table.claims td.rel, table.claims td.verdict-cell { width: 1%; }
table.claims th.num { text-align: right; }
table.claims tr.holds td { background: var(--ok-bg); }
table.claims tr.fails td { background: var(--bad-bg); }
td.verdict-cell { font-weight: 700; white-space: nowrap; }
tr.holds td.verdict-cell { color: var(--ok); }
tr.fails td.verdict-cell { color: var(--bad); }
.note { display: block; color: var(--muted); font-size: .82rem; margin-top: .1rem; }
ul.notes { margin: .3rem 0; padding-left: 1.3rem; }
.figures { display: grid; gap: 1.2rem; }
figure { margin: 0; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { font-size: .86rem; color: var(--muted); margin-top: .3rem; }
details { margin: 1rem 0 0; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); }
details summary { cursor: pointer; padding: .45rem .8rem; font-weight: 600; }
details pre { margin: 0; padding: .2rem .9rem .8rem; overflow-x: auto; }
footer { color: var(--muted); font-size: .85rem; margin-top: 2rem; }
@media (max-width: 40rem) { .page { padding: 1rem .8rem 2rem; } body { font-size: 15.5px; } }
@media print {
  body { font-size: 10.5pt; } .page { max-width: none; padding: 0; }
  nav.badges, .figure-links { display: none; }
  a { color: inherit; text-decoration: none; }
  section.entry { break-before: auto; } figure, tr, .verdict { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  details { border: none; background: none; } details summary { padding-left: 0; }
}
"""

#: Sets ``data-images-loaded="N/M"`` on <body> once the page has loaded: N images decoded
#: (naturalWidth > 0) out of M. Headless-browser tests read it back from the DOM.
IMAGE_CHECK_JS = """
(function () {
  function check() {
    var imgs = Array.prototype.slice.call(document.images);
    var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""
