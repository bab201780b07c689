"""Selection: the leaderboard machinery both halves share (:mod:`.leaderboard`)."""

from .._moved import renamed
from .leaderboard import Entry, Leaderboard, score_on_folds

__all__ = ["Leaderboard", "Entry", "score_on_folds"]


__getattr__ = renamed(__name__, {"evaluate": "score_on_folds"})
