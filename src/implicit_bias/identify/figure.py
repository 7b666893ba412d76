"""The identification figure: the predicted limit against the flow's path, and the candidates' fit scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from implicit_bias.plotting import color, new_figure


def identification_figure(ident: Any):
    """Left: ‖w(t) − w_pred‖/‖w_pred‖ along the engine's flow (log-log) and each coordinate's path with the
    predicted limit dashed; right: KKT residual of every candidate at the flow's limit (log scale)."""
    fig, axes = new_figure(ncols=2, width=12.0)
    ax = axes[0]
    flow, limit = ident.flow, ident.limit
    if flow is not None and limit is not None and np.all(np.isfinite(limit.solution)):
        t = flow.times[1:]
        dist = np.linalg.norm(flow.w_path[1:] - limit.solution, axis=1) / max(np.linalg.norm(limit.solution), 1e-300)
        ax.loglog(t, np.maximum(dist, 1e-16), color=color(0), label="‖w(t) − w_pred‖ / ‖w_pred‖")
        ax.set_xlabel("time t (log)")
        ax.set_ylabel("relative distance to the predicted limit")
        ax.set_title(f"{ident.param}: {ident.verdict}")
        ax.legend(loc="lower left")
    elif flow is not None:
        for i in range(min(flow.w_path.shape[1], 6)):
            ax.semilogx(flow.times[1:], flow.w_path[1:, i], color=color(i))
        ax.set_xlabel("time t (log)")
        ax.set_ylabel("w_i(t)")
        ax.set_title(f"{ident.param}: {ident.verdict} (no prediction)")
    else:
        ax.text(0.5, 0.5, f"{ident.verdict}: no flow", ha="center", va="center", transform=ax.transAxes)
    ax = axes[1]
    scores = [s for s in ident.scores if np.isfinite(s.kkt)]
    if scores:
        names = [s.name for s in scores]
        vals = np.maximum([s.kkt for s in scores], 1e-17)
        ax.barh(np.arange(len(names)), vals, color=[color(i % 7) for i in range(len(names))])
        ax.set_yticks(np.arange(len(names)), names)
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_xlabel("KKT residual ‖P⊥(∇R(w∞) − ∇R(w0))‖ / ‖∇R(w∞) − ∇R(w0)‖")
        ax.set_title("candidate regularizers at the flow's limit")
    else:
        ax.text(0.5, 0.5, "no candidate scored", ha="center", va="center", transform=ax.transAxes)
    return fig
