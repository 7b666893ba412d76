"""The report: one self-contained HTML page and a plain-text summary of every claim.

    index = write_report(run_dirs, Path("results"))    # results/index.html
    render_run(Path("runs/min-norm-regression"))         # runs/min-norm-regression/index.html
    print(summary_table(run_dirs))

Reads run directories through :mod:`implicit_bias.store`; never imports the engine or
the experiments, so any run ever written can be re-rendered.
"""

from implicit_bias.report.page import render_run, write_report
from implicit_bias.report.text import summary_table

__all__ = ["write_report", "render_run", "summary_table"]
