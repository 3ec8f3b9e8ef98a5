"""A watch list loaded and compiled for a long-lived process (a `tocsin` command, a flow run)."""

from __future__ import annotations

import gc

from extractors.rules import CompiledWatchlist, compile_watchlist
from extractors.watchlist import Watchlist, load_watchlist


def load_compiled(path: str, rules: tuple[str, ...] | None = None) -> tuple[Watchlist, CompiledWatchlist]:
    """The watch list at ``path`` (restricted to ``rules`` if given) and its compiled form;
    raises ``ConfigError``, or ``ValueError`` for an unknown rule id.

    Loading allocates some 100,000 objects that all stay alive, so the cyclic garbage
    collector is paused meanwhile (it would walk them again and again, for nothing: 15% of
    the time), then told to leave them alone for good (``gc.freeze``): scanning allocates
    too, and walking the compiled watch list at each collection cost 11% of the matcher's
    time. Forked workers share the frozen pages."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        watchlist = load_watchlist(path)
        if rules is not None:
            unknown = set(rules) - {r.id for r in watchlist.rules}
            if unknown:
                raise ValueError(f"no such rule: {', '.join(sorted(unknown))}")
            watchlist = watchlist.model_copy(update={"rules": [r for r in watchlist.rules if r.id in rules]})
        compiled = compile_watchlist(watchlist)
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return watchlist, compiled
