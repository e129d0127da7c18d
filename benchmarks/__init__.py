"""``make bench``: the GitHub sync, webhook and scheduler benchmarks of issue 5 (and issue 4's scheduler figure).

Each benchmark runs in its own Python process (``python -m benchmarks --only NAME``) so that peak memory
(``ru_maxrss``) and emulator state belong to that benchmark alone; ``python -m benchmarks`` runs them all,
prints the table and writes ``docs/benchmarks.md``. Everything runs on 127.0.0.1 or in-process (moto);
nothing reaches the internet.
"""
