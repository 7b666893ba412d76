"""The verdict: which of mirror-flow, data-mirror-flow, time-warped-mirror-flow, hidden-state, degenerate.

* ``degenerate``: the empirical NTK X∂G∂GᵀXᵀ at θ0 has lower rank than X (θ0 = 0 for u⊙u − v⊙v:
  ∂G(0) = 0, the flow never moves): no limit to predict.
* ``mirror-flow``: every sampled bracket [∇G_i, ∇G_j] vanishes (commuting on the sampled reachable
  set): the flow is the mirror flow of R = Q* (Li, Wang, Lee & Arora 2022).
* ``time-warped-mirror-flow``: the brackets do not vanish but stay in span{∇G_k} (involutive) and the
  data fields' brackets stay in their own span: the leaf argument gives the flow's limit by the same
  dual equation; with a conformally Hessian metric this is Azulay et al.'s time-warped mirror flow.
* ``data-mirror-flow``: G is not involutive, but the n data fields ∂Gᵀx_k are: the flow stays on the
  n-dimensional leaf {ψ(θ0; Xᵀν)} and the dual equation still returns its limit.
* ``hidden-state``: none of the above; the limit depends on state the dual does not see (two-layer
  nets with ≥ 2 hidden units) and the dual answer is refused.

All tests are sampled: "on the sampled reachable set", never "proved".
"""

from __future__ import annotations

from implicit_bias.identify.structure import Structure

VERDICTS = ("mirror-flow", "data-mirror-flow", "time-warped-mirror-flow", "hidden-state", "degenerate")

TRAPS = (
    "R depends on theta0, not only on w0 = G(theta0).",
    "R is unique only up to affine terms and increasing transforms; reported in the canonical Bregman form "
    "D_R(w, w0) (R(w0) = 0, grad R(w0) = 0).",
    "Restricted ranges: a target outside the range of G (u*u gives w >= 0) is 'not interpolable'.",
    "theta0 = 0 (or any point where the NTK loses rank) is degenerate.",
    "GD and SGD shift the effective potential; these answers are for gradient flow.",
    "Structure tests are sampled: 'commuting on the sampled reachable set', not a proof.",
)


def decide(structure: Structure | None, degenerate: bool) -> str:
    """The verdict from the structure measurements (see the module docstring)."""
    if degenerate or structure is None:
        return "degenerate"
    if structure.commuting:
        return "mirror-flow"
    if structure.data_involutive:
        return "time-warped-mirror-flow" if structure.involutive else "data-mirror-flow"
    return "hidden-state"


def explain(verdict: str) -> str:
    return {
        "mirror-flow": "commuting on the sampled reachable set: gradient flow is the mirror flow of R = Q*",
        "time-warped-mirror-flow": "not commuting, but involutive (brackets in span of grad G_k) and data-involutive "
                                   "on the sampled points: a time-warped mirror flow, same limit",
        "data-mirror-flow": "not involutive, but the data fields are (sampled): the dual equation gives the limit",
        "hidden-state": "the data fields' brackets leave their span: the limit depends on hidden state; "
                        "the dual answer is refused",
        "degenerate": "the NTK at theta0 has lower rank than X: the flow cannot move in every data direction",
    }[verdict]
