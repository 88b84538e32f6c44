"""Benchmarks and harnesses: each module runs as a script (python bench/NAME.py)
and prints figures; `kill_resume` and `synthetic_colour` are also used by the tests."""
