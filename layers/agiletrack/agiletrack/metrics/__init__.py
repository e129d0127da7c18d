"""Pure metric calculators over normalized records (the contract is ``METRICS.md``).

- ``window``: the query window ``[since, until)``.
- ``stats``: the common rules (duration statistics, rates, per-week figures, weekly series).
- ``github``: the GitHub metrics (pull requests, commits, issues).

Nothing here does I/O: callers load the records and pass them in.
"""
