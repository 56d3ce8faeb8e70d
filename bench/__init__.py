"""Benchmarks, run by hand or by `make bench`; never timed in `make test` (docs/benchmarks.md)."""
