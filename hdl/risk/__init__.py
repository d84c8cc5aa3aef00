"""Gateware inline pre-trade risk (docs/strategy.md, "Inline risk").

Public block: :class:`.risk.InlineRisk` (rules in :mod:`.rules`, layouts and
reason codes in :mod:`.layouts`). Nothing is imported here (see
``hdl/strategy/__init__.py``).
"""
