"""Hand-run benchmarks (``make bench``); not part of the product, not run in CI."""
