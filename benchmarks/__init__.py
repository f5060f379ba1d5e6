"""On-demand benchmarks (not part of the test run). See benchmarks/README.md."""
