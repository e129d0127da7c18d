"""Pure metric calculators over normalized records (the contract is ``METRICS.md``).

- ``window``: the query window ``[since, until)``.
- ``stats``: the common rules (duration statistics, rates, per-week figures, weekly series).
Each provider's calculator lives in its package (``adapters/providers/<name>/metrics.py``).

Nothing here does I/O: callers load the records and pass them in.
"""
