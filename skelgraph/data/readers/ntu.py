r"""NTU RGB+D / NTU RGB+D 120 raw ``.skeleton`` text files.

A file is a sequence of lines (LF or CRLF)::

    <numFrames>
    per frame:  <numBodies>                    (may be 0)
      per body: <bodyID + 9 body fields>       (10 fields)
                <numJoints>                    (25)
                <x y z depthX depthY colorX colorY oW oX oY oZ trackingState>  x numJoints

The reader walks the count lines once (one step per body and frame, no per-number
work) and parses every joint line in a single :func:`numpy.loadtxt` call, gathering the
joint lines with numpy indexing.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint

NUM_JOINTS = 25

#: The 120 official NTU RGB+D 120 action names; index = label (action id - 1). The first
#: 60 are NTU RGB+D (60); A050-A060 and A106-A120 are two-person (mutual) actions.
NTU120_CLASS_NAMES: tuple[str, ...] = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping", "reading", "writing",
    "tear up paper", "wear jacket", "take off jacket", "wear a shoe", "take off a shoe",
    "wear on glasses", "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up",
    "hand waving", "kicking something", "reach into pocket", "hopping (one foot jumping)",
    "jump up", "make a phone call/answer phone", "playing with phone/tablet",
    "typing on a keyboard", "pointing to something with finger", "taking a selfie",
    "check time (from watch)", "rub two hands together", "nod head/bow", "shake head",
    "wipe face", "salute", "put the palms together", "cross hands in front (say stop)",
    "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)", "touch back (backache)", "touch neck (neckache)",
    "nausea or vomiting condition", "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person", "kicking other person", "pushing other person",
    "pat on back of other person", "point finger at the other person", "hugging other person",
    "giving something to other person", "touch other person's pocket", "handshaking",
    "walking towards each other", "walking apart from each other",
    # NTU RGB+D 120 additions (A061-A120)
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball",
    "tennis bat swing", "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up",
    "thumb down", "make ok sign", "make victory sign", "staple book", "counting money",
    "cutting nails", "cutting paper (using scissors)", "snapping fingers", "open bottle",
    "sniff (smell)", "squat down", "toss a coin", "fold paper", "ball up paper",
    "play magic cube", "apply cream on face", "apply cream on hand back", "put on bag",
    "take off bag", "put something into a bag", "take something out of a bag", "open a box",
    "move heavy objects", "shake fist", "throw up cap/hat", "hands up (both hands)",
    "cross arms", "arm circles", "arm swings", "running on the spot", "butt kicks (kick backward)",
    "cross toe touch", "side kick", "yawn", "stretch oneself", "blow nose",
    "hit other person with something", "wield knife towards other person",
    "knock over other person (hit with body)", "grab other person's stuff",
    "shoot at other person with a gun", "step on foot", "high-five", "cheers and drink",
    "carry something with other person", "take a photo of other person", "follow other person",
    "whisper in other person's ear", "exchange things with other person",
    "support somebody with hand", "finger-guessing game (playing rock-paper-scissors)",
)

_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


def parse_ntu_name(name: str) -> dict[str, int]:
    r"""Setup, camera, subject, replication and action ids (1-based, as in the name) of an
    NTU sample name ``SsssCcccPpppRrrrAaaa`` (a path or a ``.skeleton`` suffix is fine).

    Example:
        >>> parse_ntu_name("S001C003P008R002A058.skeleton")
        {'setup': 1, 'camera': 3, 'subject': 8, 'replication': 2, 'action': 58}
    """
    match = _NAME.search(Path(name).name)
    if match is None:
        raise SkeletonError(f"{name}: not an NTU sample name (expected SsssCcccPpppRrrrAaaa)")
    setup, camera, subject, replication, action = (int(g) for g in match.groups())
    return {"setup": setup, "camera": camera, "subject": subject, "replication": replication,
            "action": action}


def _int_line(lines: list[bytes], i: int, path: Path, what: str) -> int:
    try:
        return int(lines[i])
    except ValueError:
        got = lines[i][:60]
        text = got.isascii() and got.decode().isprintable()
        shown = repr(got.decode()) if text else "binary content (not a text file)"
        raise SkeletonError(f"{path}: line {i + 1}: expected {what} (one integer), got {shown}") from None


def read_ntu_skeleton(path: str | Path) -> np.ndarray:
    r"""Joint positions ``x y z`` of every body in an NTU ``.skeleton`` file.

    Returns:
        float32 ``[B, T, 25, 3]``: ``B`` distinct bodyIDs in order of first appearance,
        ``T`` = the frame count in the header. A body absent from a frame is zero there;
        a frame with no body is an all-zero frame (kept, so ``T`` matches the video). If a
        bodyID appears twice in one frame, the later one wins.

    Raises:
        SkeletonError: ``"<path>: <problem>"`` for a truncated file, a joint count other
            than 25, a malformed line, no frames or no bodies at all, or non-finite values.
    """
    path = Path(path)
    try:
        lines = path.read_bytes().splitlines()  # LF, CRLF and CR alike
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise SkeletonError(f"{path}: empty file")
    num_frames = _int_line(lines, 0, path, "the frame count")
    if num_frames <= 0:
        raise SkeletonError(f"{path}: empty sequence (header says {num_frames} frames)")
    num_lines = len(lines)
    # Walk the count lines: one step per frame and per body; joint lines are only located.
    body_frame: list[int] = []
    body_id: list[bytes] = []
    body_start: list[int] = []
    i = 1
    for frame in range(num_frames):
        if i >= num_lines:
            raise SkeletonError(f"{path}: truncated: expected {num_frames} frames, file ends in frame "
                                f"{frame + 1}")
        num_bodies = _int_line(lines, i, path, "a body count")
        i += 1
        for _ in range(num_bodies):
            if i + 1 >= num_lines:
                raise SkeletonError(f"{path}: truncated: expected {num_frames} frames, file ends in "
                                    f"frame {frame + 1}")
            info = lines[i].split()
            if len(info) != 10:
                raise SkeletonError(f"{path}: line {i + 1}: a body-info line has 10 fields, got {len(info)}")
            num_joints = _int_line(lines, i + 1, path, "a joint count")
            if num_joints != NUM_JOINTS:
                raise SkeletonError(f"{path}: frame {frame + 1}: {num_joints} joints per body, NTU has "
                                    f"{NUM_JOINTS}")
            if i + 2 + NUM_JOINTS > num_lines:
                raise SkeletonError(f"{path}: truncated: expected {num_frames} frames, file ends in frame "
                                    f"{frame + 1}")
            body_frame.append(frame)
            body_id.append(info[0])
            body_start.append(i + 2)
            i += 2 + NUM_JOINTS
    if i != num_lines:
        raise SkeletonError(f"{path}: {num_lines - i} unexpected lines after frame {num_frames}")
    if not body_start:
        raise SkeletonError(f"{path}: no bodies in any of the {num_frames} frames")
    # One gather and one parse for all joint lines.
    joint_rows = (np.asarray(body_start)[:, None] + np.arange(NUM_JOINTS)).ravel()
    try:
        # usecols includes the 12th field so a short (e.g. cut-off) joint line is an error
        values = np.loadtxt(np.array(lines, dtype=object)[joint_rows], usecols=(0, 1, 2, 11),
                            dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise SkeletonError(f"{path}: malformed joint line: {err}") from None
    ids, slot = np.unique(np.array(body_id), return_inverse=True)
    first_seen = np.full(len(ids), len(body_id))
    np.minimum.at(first_seen, slot, np.arange(len(body_id)))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first_seen)] = np.arange(len(ids))  # order of first appearance
    keypoint = np.zeros((len(ids), num_frames, NUM_JOINTS, 3), dtype=np.float32)
    keypoint[rank[slot], np.asarray(body_frame)] = values[:, :3].reshape(-1, NUM_JOINTS, 3)
    return check_keypoint(keypoint, NUM_JOINTS, str(path))


def read_ntu_sequence(path: str | Path) -> SkeletonSequence:
    r"""An NTU file as a :class:`SkeletonSequence`: keypoint ``[B, T, 25, 3]`` (all bodies; select
    persons in preprocessing), ``label = action - 1``, meta ``{setup, camera, subject,
    replication, action}`` from the file name."""
    path = Path(path)
    name = path.name.removesuffix(".skeleton")
    meta = parse_ntu_name(name)
    return SkeletonSequence(name=name, keypoint=read_ntu_skeleton(path), score=None,
                            label=meta["action"] - 1, meta=meta)


def read_missing_list(path: str | Path) -> set[str]:
    r"""Sample names in an official NTU missing-skeleton list (the first 3 lines are a header;
    then one name per line, without ``.skeleton``)."""
    path = Path(path)
    lines = path.read_text().splitlines()[3:]
    return {line.strip().removesuffix(".skeleton") for line in lines if line.strip()}
