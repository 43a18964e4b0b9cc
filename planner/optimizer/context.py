"""The state an optimizer run shares between its rules.

`OptimizerContext` hands out fresh column names (rules that create columns,
such as subquery decorrelation, need names unique in the whole plan) and
holds the constant evaluator that fold_constants uses: the session hands in
`executor.eval.evaluate_scalar` (the planner imports nothing of the
executor); tests may hand in a fake. With none, constants are not folded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class OptimizerContext:
    # evaluate_scalar(expr) -> Literal | pa.Scalar | python value; raises on error.
    evaluate_scalar: Callable[[Any], Any] | None = None
    # evaluate(expr, batch) -> pa.Array: filters evaluated on sampled rows
    # (sample_scan_filters); None: no sampling, estimates use fixed guesses.
    evaluate: Callable[[Any, Any], Any] | None = None
    options: dict = field(default_factory=dict)
    _counter: Any = field(default_factory=lambda: itertools.count(1), repr=False)

    def fresh_name(self, base: str) -> str:
        """A column name no binder-made name can equal (`base$opt<n>`)."""
        base = base.split("#")[0] or "col"
        return f"{base}$opt{next(self._counter)}"

    def scalar_evaluator(self) -> Callable[[Any], Any] | None:
        """The constant evaluator, or None when none was handed in."""
        return self.evaluate_scalar
