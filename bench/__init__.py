"""`make bench`: every bench/bench_*.py module's run() prints its figures."""
