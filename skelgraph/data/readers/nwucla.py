r"""NW-UCLA Multiview Action 3D, CTR-GCN's ``all_sqe`` JSON version, one sequence per file::

    {"file_name": "a01_s01_e00_v01", "skeletons": [[[x, y, z], ... 20 joints], ... T frames],
     "label": 1}

``label`` is 1-based (1..10); the reader returns ``label - 1``. Files can be read from a folder
or straight from the ``all_sqe.tar.gz`` archive.
"""
from __future__ import annotations

import json
import re
import tarfile
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint

NUM_JOINTS = 20

#: Class names in label order (label = JSON label - 1); action ids a07 and a10 do not exist.
NWUCLA_CLASS_NAMES: tuple[str, ...] = (
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down",
    "stand up", "donning", "doffing", "throw", "carry",
)

_NAME = re.compile(r"a(\d+)_s(\d+)_e(\d+)_v(\d+)")


def parse_nwucla_name(name: str) -> dict[str, int]:
    r"""Action, subject, episode and view ids of a name ``aAA_sSS_eEE_vVV``.

    Example:
        >>> parse_nwucla_name("all_sqe/a12_s03_e01_v02.json")
        {'action': 12, 'subject': 3, 'episode': 1, 'view': 2}
    """
    match = _NAME.search(Path(name).name)
    if match is None:
        raise SkeletonError(f"{name}: not an NW-UCLA sample name (expected aAA_sSS_eEE_vVV)")
    action, subject, episode, view = (int(g) for g in match.groups())
    return {"action": action, "subject": subject, "episode": episode, "view": view}


def parse_nwucla_json(raw: bytes | str, where: str, num_joints: int = NUM_JOINTS) -> SkeletonSequence:
    r"""Parses the text of one NW-UCLA JSON file; ``where`` names it in errors and gives the
    sample name (its stem). All-zero joints and single-frame sequences are valid."""
    try:
        content: Any = json.loads(raw)
    except UnicodeDecodeError:
        raise SkeletonError(f"{where}: not a text file (binary content)") from None
    except json.JSONDecodeError as err:
        raise SkeletonError(f"{where}: not valid JSON: {err}") from None
    if not isinstance(content, dict) or "skeletons" not in content:
        raise SkeletonError(f"{where}: expected an object with 'skeletons' [T][20][3] and 'label'")
    try:
        skeletons = np.asarray(content["skeletons"], dtype=np.float32)
    except (ValueError, TypeError):
        raise SkeletonError(f"{where}: 'skeletons' is not a regular [T][{num_joints}][3] list of numbers") from None
    if skeletons.ndim != 3 or skeletons.shape[0] == 0 or skeletons.shape[2] != 3:
        if skeletons.size == 0:
            raise SkeletonError(f"{where}: empty sequence (0 frames)")
        raise SkeletonError(f"{where}: 'skeletons' has shape {skeletons.shape}, expected [T, {num_joints}, 3]")
    keypoint = check_keypoint(skeletons[None], num_joints, where)
    name = Path(where).name.removesuffix(".json")
    label = content.get("label")
    meta = parse_nwucla_name(name) if _NAME.search(name) else {}
    return SkeletonSequence(name=name, keypoint=keypoint, score=None,
                            label=int(label) - 1 if label is not None else -1, meta=meta)


def read_nwucla_json(path: str | Path) -> SkeletonSequence:
    r"""One NW-UCLA ``.json`` file: keypoint float32 ``[1, T, 20, 3]``, label = JSON label - 1,
    meta ``{action, subject, episode, view}`` from the name."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    return parse_nwucla_json(raw, str(path))


def _open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as err:
        raise SkeletonError(f"{path}: cannot open archive: {err}") from None


#: What a damaged compressed archive raises while it is read (a bad CRC, a cut stream, a bad header).
ARCHIVE_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error)


def _archive_damage(path: Path, err: BaseException, members: int) -> SkeletonError:
    reason = str(err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, EOFError):
        reason = f"truncated: {reason}"
    return SkeletonError(f"{path}: damaged archive, read {members} member(s) before the error ({reason}); "
                         f"nothing was written (get a fresh copy; `gzip -t` checks one)")


def list_nwucla_archive(path: str | Path) -> list[str]:
    r"""Names of the ``.json`` members of an NW-UCLA archive, in archive order.

    The whole archive is read and checked first: tarfile stops quietly at a damaged header and
    gzip checks its CRC only at the end, so a damaged copy would otherwise give a partial
    dataset as if it were whole.

    Raises:
        SkeletonError: the archive cannot be opened, or is truncated or corrupt (naming how
            many members were read).
    """
    path = Path(path)
    members: list[tarfile.TarInfo] = []
    with _open_archive(path) as tar:
        try:
            for member in tar:
                members.append(member)
            # what follows the last member must be the end-of-archive zero blocks, read to the end
            # (which makes gzip check its CRC and length); data there is a member tarfile skipped
            while chunk := tar.fileobj.read(1 << 20):
                if chunk.strip(b"\0"):
                    raise tarfile.ReadError("a damaged member header (data after the last readable member)")
        except ARCHIVE_ERRORS as err:
            raise _archive_damage(path, err, len(members)) from None
    return [m.name for m in members if m.isfile() and m.name.endswith(".json")]


def iter_nwucla_archive(path: str | Path) -> Iterator[SkeletonSequence]:
    r"""Every ``.json`` member of an archive, streamed in one pass (nothing is extracted)."""
    path = Path(path)
    with _open_archive(path) as tar:
        read, members = 0, iter(tar)
        while True:
            try:  # only the archive's own reading: a bad member's JSON is that member's error
                member = next(members, None)
                raw = tar.extractfile(member).read() if member is not None and member.isfile() else b""
            except ARCHIVE_ERRORS as err:
                raise _archive_damage(path, err, read) from None
            if member is None:
                return
            read += 1
            if member.isfile() and member.name.endswith(".json"):
                yield parse_nwucla_json(raw, f"{path}:{member.name}")


@lru_cache(maxsize=2)
def _archive_members(path: str, mtime: float) -> dict[str, bytes]:
    members: dict[str, bytes] = {}
    with _open_archive(Path(path)) as tar:
        try:
            for m in tar:
                if m.isfile() and m.name.endswith(".json"):
                    members[m.name] = tar.extractfile(m).read()
        except ARCHIVE_ERRORS as err:
            raise _archive_damage(Path(path), err, len(members)) from None
    return members


def read_nwucla_member(archive: str | Path, member: str) -> SkeletonSequence:
    r"""One member of an NW-UCLA archive. The first call in a process decompresses the archive
    into memory (NW-UCLA is 37.5 MB unpacked), so random access by a worker pool stays linear;
    use :func:`iter_nwucla_archive` to stream instead."""
    archive = Path(archive)
    members = _archive_members(str(archive), archive.stat().st_mtime)
    if member not in members:
        raise SkeletonError(f"{archive}: no member {member!r}")
    return parse_nwucla_json(members[member], f"{archive}:{member}")
