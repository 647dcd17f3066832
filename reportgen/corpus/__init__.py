"""A whole test set through both models: what fine-tuning changed, word by word, with intervals.

run.py attributes rows a batch at a time (word scores toward one common class), store.py keeps
them as Parquet (shards written as rows finish, resumed, merged), aggregate.py turns them into
per-word statistics with bootstrap intervals (as data: statistics.py), facts.py keeps what was run;
the page's view model is `rendering/views/corpus.py`.
"""
