"""word2vec tag vectors (gensim), trained on the tag sentences of a CSV.

Only training needs gensim; the vectors are kept as plain floats in
vocab.json and written beside it in the word2vec text format, so loading a
model never needs gensim or pickle.
"""

from __future__ import annotations

import numpy as np

from tags.canonical import TagSet


def train_tag_vectors(
    tagsets: list[TagSet], groups: dict[str, list[str]], *, dim: int = 8, seed: int = 0, epochs: int = 30
) -> tuple[dict[str, list[float]], str]:
    """(tag -> vector, word2vec text) where a tag's vector is the mean of its
    words' vectors (so 'blue hair' and 'blue eyes' share the 'blue' part)."""
    from gensim.models import Word2Vec

    sentences = [t.text.split() for t in tagsets] or [["hair", "eyes"]]
    model = Word2Vec(
        sentences=sentences, vector_size=dim, window=8, min_count=1, workers=1, seed=seed, epochs=epochs, sg=1
    )
    vectors = {}
    for group, values in groups.items():
        for value in values:
            words = [w for w in f"{value} {group}".split() if w in model.wv]
            vec = np.mean([model.wv[w] for w in words], axis=0) if words else np.zeros(dim, np.float32)
            vectors[f"{value} {group}"] = [float(x) for x in vec]
    lines = [f"{len(model.wv.index_to_key)} {dim}"]
    lines += [w + " " + " ".join(f"{x:.6f}" for x in model.wv[w]) for w in model.wv.index_to_key]
    return vectors, "\n".join(lines) + "\n"
