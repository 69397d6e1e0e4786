"""The manifest's `[quality]` section: thresholds of the quality filters."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
