"""Gateware strategy: imbalance taker, quoter and the decision path (docs/strategy.md).

Public blocks: :class:`.decision.DecisionPath` (the composition),
:class:`.taker.ImbalanceTaker`, :class:`.quoter.Quoter`; layouts in
:mod:`.layouts`. Nothing is imported here, so that ``hdl/risk`` and
``hdl/order`` can import the layouts without a cycle.
"""
