"""Drydock's benchmarks: `python -m bench [names…]` against a running stack.

`make bench` starts a separate stack for them (infra/local/stack.py bench) and
the run rewrites its sections of docs/benchmarks.md.
"""
