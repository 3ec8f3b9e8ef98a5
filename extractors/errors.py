"""Errors about article input."""


class ArticleError(ValueError):
    """An article that cannot be read or parsed; the message is one line."""
