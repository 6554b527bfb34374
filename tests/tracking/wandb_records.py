"""Read back a W&B offline run file (``run-<id>.wandb``): W&B's records, as protobuf messages
framed in its LevelDB-style log (a 7-byte file header, then 32 KiB blocks of records, each with
a 7-byte header: CRC, length, type FULL/FIRST/MIDDLE/LAST)."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

FILE_HEADER = 7
BLOCK = 32 * 1024
RECORD_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def record_payloads(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    payloads, pending, offset = [], b"", FILE_HEADER
    while offset + RECORD_HEADER <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < RECORD_HEADER:  # the block's tail is padding
            offset += left_in_block
            continue
        _, length, kind = struct.unpack("<IHB", data[offset : offset + RECORD_HEADER])
        if kind == 0:  # zeros: the end of what was written
            break
        chunk = data[offset + RECORD_HEADER : offset + RECORD_HEADER + length]
        offset += RECORD_HEADER + length
        if kind == FULL:
            payloads.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            payloads.append(pending + chunk)
    return payloads


def read_offline_run(path: Path) -> dict[str, Any]:
    """``{"name", "group", "config", "history": [{key: value}], "summary": {key: value}}``."""
    import json

    from wandb.proto import wandb_internal_pb2

    run: dict[str, Any] = {"history": [], "summary": {}, "config": {}}
    for payload in record_payloads(path):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run["name"], run["group"] = record.run.display_name, record.run.run_group
            run["config"].update(_items(record.run.config.update, json))
        elif kind == "config":
            run["config"].update(_items(record.config.update, json))
        elif kind == "history":
            run["history"].append(_items(record.history.item, json))
        elif kind == "summary":
            run["summary"].update(_items(record.summary.update, json))
    return run


def _items(items, json) -> dict[str, Any]:
    return {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items}
