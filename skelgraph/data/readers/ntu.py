r"""NTU RGB+D / NTU RGB+D 120 raw ``.skeleton`` text files.

A file is a sequence of lines (LF or CRLF)::

    <numFrames>
    per frame:  <numBodies>                    (may be 0)
      per body: <bodyID + 9 body fields>       (10 fields)
                <numJoints>                    (25)
                <x y z depthX depthY colorX colorY oW oX oY oZ trackingState>  x numJoints

Two parsers give the same array. The fast one (:func:`_parse_fast`) works on the file's
bytes as one numpy array: it finds the line and token boundaries, checks the file's shape from
the number of fields per line (1: a count, 10: body info, 12: a joint), and converts the
``x y z`` decimals of all joint lines at once from their digits. Anything it does not expect
(an exponent, a stray character, CR-only line ends, a malformed structure) sends the file to the
line-walking parser (:func:`_parse_lines`), which also words every error. The fast path is what
makes the reader over 10x faster than st-gcn's ``read_xyz`` (``experiments/bench/parse_throughput.py``).
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
        data = path.read_bytes()
    except OSError as err:
        raise SkeletonError(f"{path}: cannot read: {err.strerror}") from None
    fast = _parse_fast(data)
    if fast is not None:
        return _assemble(*fast, path=path)
    return _parse_lines(data, path)


_POW10 = 10.0 ** np.arange(19)  # exact in float64 up to 10**22
_SIGNED_POW10 = np.concatenate((_POW10, -_POW10))  # [19 + k] = -10**k: dividing by it negates exactly
_MAX_DIGITS = 15  # an integer of 15 digits is exact in float64, so one division rounds correctly


def _parse_fast(data: bytes) -> tuple[int, np.ndarray, list[bytes], np.ndarray] | None:
    r"""``(num_frames, frame of each body [B'], bodyID of each body, x y z [B' * 25, 3] float64)``
    of an NTU file in the plain format (fields separated by single spaces, LF or CRLF line
    ends), or ``None`` for anything else (the line parser then reads it or words the error)."""
    if not data or b"\t" in data or b"\n" not in data[:64]:
        return None  # tabs, or no LF line ends (CR-only): the line parser's job
    buf = np.frombuffer(data, dtype=np.uint8)
    blank = np.flatnonzero(buf <= 32)  # one pass for line ends and spaces (and CRs, control bytes)
    kind = buf[blank]
    is_space = kind == 32
    other = np.flatnonzero(~is_space)  # the blanks that are not spaces: LFs, CRs, control bytes
    lf = np.flatnonzero(kind[other] == 10)  # which of those are LFs
    line_end = other[lf]  # where each LF sits among the blanks
    ends, spaces = blank[line_end], blank[is_space]  # the LF of every line; every space
    # Free each large temporary once it is dead: a smaller peak grows glibc's heap less per file, and
    # the pages of heap it grows and trims back fault again on the next file (see _decimals)
    del blank, kind, is_space, other
    # spaces before each LF: its place among the blanks minus the other blanks before it (no search)
    spaces_before = line_end - lf
    if ends[-1] != buf.size - 1:
        ends = np.append(ends, buf.size)  # a last line without LF
        spaces_before = np.append(spaces_before, spaces.size)
    while ends.size > 1 and ends[-1] - ends[-2] <= 2 and not data[ends[-2] + 1:ends[-1]].strip():
        ends = ends[:-1]  # trailing blank lines
    begins = np.concatenate(([0], ends[:-1] + 1))
    stop = ends - (buf[ends - 1] == 13)  # end of each line's content (before a CR)
    if (stop <= begins).any() or (buf[begins] == 32).any() or (buf[stop - 1] == 32).any() or \
            (np.diff(spaces) == 1).any():
        return None  # blank lines, or not single spaces between fields
    spaces_before = spaces_before[:ends.size]
    first_space = np.concatenate(([0], spaces_before[:-1]))  # index in `spaces` of each line's first space
    fields = spaces_before - first_space + 1
    info = np.flatnonzero(fields == 10)  # body-info lines
    num_lines = ends.size
    if fields[0] != 1 or info.size == 0 or (fields != 1)[1:].sum() != 26 * info.size or info[-1] + 27 > num_lines:
        return None
    joint_lines = info[:, None] + np.arange(2, 27)
    if (fields[info + 1] != 1).any() or (fields[joint_lines] != 12).any():
        return None  # every body: info, one count, 25 joint lines; nothing else has more than one field
    counts = np.ones(num_lines, dtype=bool)
    counts[0] = counts[info] = counts[info + 1] = False
    counts[joint_lines] = False
    frame_lines = np.flatnonzero(counts)  # the body-count line of every frame
    joints_at = begins[info + 1]
    if (stop[info + 1] - joints_at != 2).any() or (buf[joints_at] != 50).any() or (buf[joints_at + 1] != 53).any():
        return None  # a joint count other than "25"
    body_frame = np.searchsorted(frame_lines, info) - 1
    num_frames = int(data[:stop[0]]) if data[:stop[0]].isdigit() else -1
    if num_frames != frame_lines.size or (body_frame < 0).any():
        return None
    per_frame = np.bincount(body_frame, minlength=num_frames)
    one_digit = stop[frame_lines] - begins[frame_lines] == 1
    if not one_digit.all() or (buf[begins[frame_lines]] - np.uint8(48) != per_frame).any():
        if [int(data[begins[i]:stop[i]]) if data[begins[i]:stop[i]].isdigit() else -1 for i in frame_lines] != \
                per_frame.tolist():
            return None  # a body count that does not match the bodies that follow
    body_id = [data[b:e] for b, e in zip(begins[info].tolist(), spaces[first_space[info]].tolist())]
    # x, y, z: the three tokens before the first three spaces of every joint line
    rows = joint_lines.ravel()
    token_end = spaces[first_space[rows][:, None] + np.arange(3)]  # [L, 3]
    token_start = np.concatenate((begins[rows][:, None], token_end[:, :2] + 1), axis=1)
    token_length = (token_end - token_start).ravel()
    del spaces, token_end, first_space, begins, stop, fields, counts
    values = _decimals(buf, token_start.ravel(), token_length)
    return None if values is None else (num_frames, body_frame, body_id, values.reshape(-1, 3))


def _decimals(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray | None:
    r"""The numbers at ``buf[start:start+length]`` as float64 ``[n]``. Plain decimals (``-12.345``,
    ``7``, ``.5``) are converted together into exact integers of at most 15 digits, each then
    divided by the power of ten of its fraction: one correctly rounded operation, so each result
    is the float64 nearest to its decimal, as ``float()`` gives. Other tokens (exponents such as
    ``-9.276937E-05``, a few per file) go through ``float()``; ``None`` if one is not a number.

    The characters are laid out as ``[columns, n]`` (one row per character column). Each column
    is a pair (value, scale): (digit, 10) at a digit, (0, 1) at the point, past the token's
    end and at any other character (a token with one is not plain and goes to ``float()``), so
    the point is skipped. Pairs combine as ``(v1 * s2 + v2, s1 * s2)``: two columns fit
    uint8 (values up to 99, scales up to 100), four uint16 (9999, 10**4), and Horner's rule over
    the groups of four finishes in int64. Narrow types and few full-width temporaries keep the
    peak memory (and the page faults of a heap grown anew for each file) low."""
    width = int(length.max(initial=1))
    if width > _MAX_DIGITS or length.min(initial=1) < 1:
        return None
    columns = -(-width // 4) * 4  # whole groups of four characters
    # the rows read up to start + columns: pad only a buffer that ends sooner (x y z of a joint
    # line never do: nine more fields follow them)
    fits = int(start.max(initial=0)) + columns < buf.size
    padded = buf if fits else np.concatenate((buf, np.zeros(columns, dtype=np.uint8)))
    negative = padded[start] == 45  # '-'
    first, size = start + negative, length - negative
    chars = padded[first + np.arange(columns)[:, None]]  # [columns, n]
    inside = np.arange(columns)[:, None] < size
    value = chars - np.uint8(48)  # unsigned: characters below '0' wrap around
    digit = (value < 10) & inside
    point = (chars == 46) & inside
    del chars, inside
    value *= digit  # 0 wherever not a digit
    scale = digit * np.uint8(9) + np.uint8(1)  # 10 at a digit, 1 at the point and past the end
    value2 = value[0::2] * scale[1::2] + value[1::2]  # pairs of columns, uint8
    scale2 = scale[0::2] * scale[1::2]
    del value, scale
    value4 = value2[0::2].astype(np.uint16) * scale2[1::2] + value2[1::2]  # groups of four, uint16
    scale4 = scale2[0::2].astype(np.uint16) * scale2[1::2]
    number = value4[0].astype(np.int64)
    for j in range(1, value4.shape[0]):  # Horner's rule over the groups, in place
        number *= scale4[j]
        number += value4[j]
    # per token, in uint8 (the sums of bool columns would default to int64): digit and point
    # counts, and the column of its point from the point mask weighted by the column index
    digits, points = digit.sum(0, dtype=np.uint8), point.sum(0, dtype=np.uint8)
    plain = (digits >= 1) & (digits + points == size) & (points <= 1)  # the rest: one point at most
    point_column = (point * np.arange(columns, dtype=np.uint8)[:, None]).sum(0, dtype=np.uint8)
    after_point = np.where(plain & (points > 0), size - 1 - point_column, 0)  # others: float() below
    result = number / _SIGNED_POW10[after_point + 19 * negative]
    for i in np.flatnonzero(~plain):
        try:
            result[i] = float(buf[start[i]:start[i] + length[i]].tobytes())
        except ValueError:
            return None
    return result


def _assemble(num_frames: int, body_frame: np.ndarray, body_id: list[bytes], xyz: np.ndarray,
              path: Path) -> np.ndarray:
    r"""``[B, T, 25, 3]`` float32 from the bodies found, ``B`` = distinct bodyIDs in order of first
    appearance (the shared tail of both parsers)."""
    ids, slot = np.unique(np.array(body_id), return_inverse=True)
    first_seen = np.full(len(ids), len(body_id))
    np.minimum.at(first_seen, slot, np.arange(len(body_id)))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(first_seen)] = np.arange(len(ids))  # order of first appearance
    keypoint = np.zeros((len(ids), num_frames, NUM_JOINTS, 3), dtype=np.float32)
    keypoint[rank[slot], np.asarray(body_frame)] = xyz.reshape(-1, NUM_JOINTS, 3)
    return check_keypoint(keypoint, NUM_JOINTS, str(path))


def _parse_lines(data: bytes, path: Path) -> np.ndarray:
    r"""The line-walking parser: any line ends, any number syntax ``loadtxt`` reads, and an error
    naming the line or frame for every malformed file."""
    lines = data.splitlines()  # LF, CRLF and CR alike
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
    return _assemble(num_frames, np.asarray(body_frame), body_id, values[:, :3], path)


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
