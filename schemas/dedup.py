"""The manifest's `[dedup]` section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DedupConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
