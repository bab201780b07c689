"""Reporting: cluster insights, feature impact and associations (:mod:`.insights`),
figures (:mod:`.plots`, matplotlib imported only when drawing) and the self-contained
HTML report (:mod:`.report`)."""

from .insights import Insights, feature_associations, insight_features

__all__ = ["Insights", "insight_features", "feature_associations"]
