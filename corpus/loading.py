"""Reading a run's outputs in a training job: memory-mapped datasets, split by rank, padded batches.

    from corpus.loading import examples_for_rank, pad_batch
    ds = examples_for_rank("out/examples", rank, world_size)           # this rank's examples only
    loader = torch.utils.data.DataLoader(ds, batch_size=64, collate_fn=pad_batch)

Ranks get disjoint, contiguous parts of the dataset (``datasets.distributed.split_dataset_by_node``);
unlike torch's DistributedSampler, nothing is repeated to even out the ranks.
"""

from __future__ import annotations

from typing import Any

PAD_ID = 0


def examples_for_rank(path: str, rank: int = 0, world_size: int = 1):
    import datasets
    from datasets.distributed import split_dataset_by_node

    return split_dataset_by_node(datasets.load_from_disk(path), rank=rank, world_size=world_size)


def pad_batch(rows: list[dict[str, Any]], pad_id: int = PAD_ID) -> dict[str, Any]:
    """Token-id lists -> LongTensors padded with ``pad_id`` (T5: 0) to the longest row; other fields
    as lists."""
    import torch

    batch: dict[str, Any] = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        if isinstance(values[0], list):
            longest = max(map(len, values))
            batch[key] = torch.tensor([v + [pad_id] * (longest - len(v)) for v in values], dtype=torch.long)
        else:
            batch[key] = values
    return batch
