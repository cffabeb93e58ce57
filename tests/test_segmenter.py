"""Sentence splitting is safe to share between threads (runs played at once)."""

from __future__ import annotations

import threading

from debate.segmenter import sentence_spans


def test_passages_split_on_several_threads_at_once_keep_their_own_sentences():
    # two runs at once in one process (debate.arun gathered) segment their passages together
    texts = [
        f"Passage {i} begins here. It has a second sentence, number {i}. "
        f"Dr. Smith wrote it in {1900 + i}.\n\nA new paragraph {i} ends it."
        for i in range(200)
    ]
    expected = [sentence_spans.__wrapped__(t) for t in texts]
    got: dict[int, tuple] = {}
    start = threading.Barrier(4)

    def split(part: int) -> None:
        start.wait()
        for i in range(part, len(texts), 4):
            got[i] = sentence_spans.__wrapped__(texts[i])

    threads = [threading.Thread(target=split, args=(p,)) for p in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(texts))] == expected
