"""Benchmarks (not installed): queue, delivery, and the GPU check script."""
