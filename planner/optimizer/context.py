"""The state an optimizer run shares between its rules.

`OptimizerContext` hands out fresh column names (rules that create columns,
such as subquery decorrelation, need names unique in the whole plan) and
holds the constant evaluator that fold_constants uses. Tests may inject a
fake evaluator; by default it is `executor.eval.evaluate_scalar`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class OptimizerContext:
    # evaluate_scalar(expr) -> Literal | pa.Scalar | python value; raises on error.
    evaluate_scalar: Callable[[Any], Any] | None = None
    options: dict = field(default_factory=dict)
    _counter: Any = field(default_factory=lambda: itertools.count(1), repr=False)

    def fresh_name(self, base: str) -> str:
        """A column name no binder-made name can equal (`base$opt<n>`)."""
        base = base.split("#")[0] or "col"
        return f"{base}$opt{next(self._counter)}"

    def scalar_evaluator(self) -> Callable[[Any], Any] | None:
        """The constant evaluator, or None when the executor has none yet."""
        if self.evaluate_scalar is None:
            try:
                from ...executor.eval import evaluate_scalar
            except ImportError:
                return None
            self.evaluate_scalar = evaluate_scalar
        return self.evaluate_scalar
