"""The MNIST pixel debate's entry points into the harness: its task, judge, debater backend,
random-pixels baseline and `debate mnist` commands. Each imports torch only when used, so the
harness starts as fast with them as without."""
