"""Stage names in configs -> the filters that implement them, with their options validated."""

from __future__ import annotations

from pydantic import ValidationError

from corpus.config import RunConfig, describe_validation_error
from corpus.errors import ConfigError
from filters.c4 import C4
from filters.dedup import Dedup
from filters.limits import LimitsFilter

# Stage name -> class. A `Filter` runs document by document; the others (C4) are corpus-wide stages
# whose per-document logic lives here and whose shuffles are wired in pipelines/.
FILTERS: dict[str, type] = {stage.name: stage for stage in (LimitsFilter, C4, Dedup)}


def build_stages(config: RunConfig) -> list:
    """The configured stages, in order, each constructed from its validated options."""
    stages = []
    for i, (name, raw) in enumerate(config.stage_items()):
        cls = FILTERS.get(name)
        if cls is None:
            raise ConfigError(f"{config.origin}: stages[{i}]: unknown stage {name!r}; "
                              f"available: {', '.join(sorted(FILTERS))}")
        try:
            options = cls.Options.model_validate(raw)
        except ValidationError as err:
            raise ConfigError(describe_validation_error(err, config.origin, cls.Options, prefix=(name,))) from None
        stages.append(cls(options, seed=config.seed))
    return stages
