"""The manifest's `[pii]` section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class PiiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
