"""Autoscope's performance suite: ``python -m benchmarks [--quick]``.

Each ``benchmarks/bench_*.py`` exposes ``run(quick: bool = False) -> list[dict]`` returning rows
with the keys of :data:`benchmarks.common.ROW_KEYS`; the runner (``__main__``) runs them all,
writes ``benchmarks/results/<UTC timestamp>.json`` and regenerates ``BENCHMARKS.md``.
"""
