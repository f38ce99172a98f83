"""Store benchmarks (issue 6): a synthetic article generator and the runners that time the store."""
