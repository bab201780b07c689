"""Selection: the leaderboard machinery both halves share (:mod:`.leaderboard`)."""

from .leaderboard import Entry, Leaderboard, evaluate

__all__ = ["Leaderboard", "Entry", "evaluate"]
