r"""MATLAB ``.mat`` files (v4 to v7.2, read with ``scipy.io.loadmat``) holding one sequence as one
numeric array, such as UTD-MHAD's skeletons (variable ``d_skel``, ``[20, 3, T]``: joints, xyz,
frames). Needs the optional ``scipy`` dependency (``pip install 'skelgraph[mat]'``).

The array's dimension order is given as letters: ``V`` joints, ``C`` coordinates, ``T`` frames
(and optionally ``M`` persons), e.g. ``"VCT"`` for UTD-MHAD, ``"TVC"`` for frames first. MATLAB
v7.3 files are HDF5 underneath and are not read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelgraph.data.sequence import SkeletonError, SkeletonSequence, check_keypoint


@dataclass(frozen=True)
class MatFormat:
    r"""Where the skeleton is in a ``.mat`` file.

    Args:
        variable (str | None): The variable holding the array; ``None``: the file's only
            numeric array. (default: ``"d_skel"``, UTD-MHAD's)
        dims (str): Its dimension order, a permutation of ``VCT`` or ``MVCT``. (default: ``"VCT"``)
    """

    variable: str | None = "d_skel"
    dims: str = "VCT"

    def __post_init__(self) -> None:
        if sorted(self.dims) not in (sorted("VCT"), sorted("MVCT")):
            raise ValueError(f"dims must order the letters V, C, T (and optionally M), got {self.dims!r}")


def load_scipy_io():
    """``scipy.io``, or an ImportError that says how to install it."""
    try:
        import scipy.io
    except ImportError:
        raise ImportError("reading .mat files needs scipy: pip install 'skelgraph[mat]' (or pip install scipy)") \
            from None
    return scipy.io


def read_mat(path: str | Path, fmt: MatFormat = MatFormat()) -> SkeletonSequence:
    r"""One ``.mat`` file as keypoint float32 ``[M, T, V, C]`` (``M = 1`` unless ``dims`` has ``M``).

    Raises:
        SkeletonError: ``"<path>: <problem>"`` for a file that is not a readable MAT file, a
            missing variable, an array of another rank, NaN or inf.
        ImportError: scipy is not installed (one line saying how to install it).

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a1_s1_t1.mat")
        >>> load_scipy_io().savemat(path, {"d_skel": np.ones((20, 3, 5))})
        >>> read_mat(path).keypoint.shape
        (1, 5, 20, 3)
    """
    sio = load_scipy_io()
    path = Path(path)
    try:
        content = sio.loadmat(str(path))
    except NotImplementedError:
        raise SkeletonError(f"{path}: a MATLAB v7.3 (HDF5) file; save it with -v7 or read it with h5py") from None
    except (OSError, ValueError, TypeError) as err:  # scipy raises ValueError for "Unknown mat file type"
        raise SkeletonError(f"{path}: not a readable MAT file ({str(err).splitlines()[0][:120]})") from None
    arrays = {k: v for k, v in content.items() if not k.startswith("__") and isinstance(v, np.ndarray)
              and v.dtype.kind in "fiu"}
    if fmt.variable is None:
        if len(arrays) != 1:
            raise SkeletonError(f"{path}: {len(arrays)} numeric variables ({', '.join(arrays) or 'none'}); "
                                f"name the one to read")
        array = next(iter(arrays.values()))
    elif fmt.variable not in arrays:
        raise SkeletonError(f"{path}: no numeric variable {fmt.variable!r} (variables: {', '.join(arrays) or 'none'})")
    else:
        array = arrays[fmt.variable]
    if array.ndim != len(fmt.dims):
        raise SkeletonError(f"{path}: array of shape {array.shape}, expected {len(fmt.dims)} dimensions "
                            f"({fmt.dims})")
    order = "MTVC" if "M" in fmt.dims else "TVC"
    keypoint = np.transpose(array, [fmt.dims.index(d) for d in order])
    if "M" not in fmt.dims:
        keypoint = keypoint[None]
    return SkeletonSequence(name=path.stem, keypoint=check_keypoint(keypoint, None, str(path)), label=-1)
