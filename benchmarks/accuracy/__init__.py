"""Execution accuracy of the engines on a question set with gold SQL (`python -m benchmarks.accuracy`).

`questions/*.toml` hold the questions, `clinic.py` generates the third database, `compare.py`
decides whether two result sets agree, and `run.py` asks every question through the server's
own pipeline and prints, per engine, split, question file, database and shape, the share of
answers right, confidently wrong and declined, with the misses.
"""
