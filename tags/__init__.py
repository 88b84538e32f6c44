"""Tags: canonical tag text, the vocabulary of a model, the free-text parser.

Light on purpose (standard library + numpy): the fast generation path imports
it. pandas lives in `tags.readers`, gensim only inside `tags.vectors`.
"""

from common.cli import UserError


class TagError(UserError):
    """Bad tag text or tag CSV content. The message is written for the user
    (it names the offending text and, where possible, what would be valid)."""


__all__ = ["TagError"]
