"""Execution accuracy of the engines on a question set with gold SQL (`python -m benchmarks.accuracy`).

`questions/*.toml` hold the questions, `clinic.py` generates the third database, `compare.py`
decides whether two result sets agree, and `run.py` asks every question through the server's
own pipeline and prints accuracy per engine, split and shape, with the misses.
"""
