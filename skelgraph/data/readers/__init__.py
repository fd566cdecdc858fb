"""One reader per source format; each returns the canonical keypoint [M, T, V, C]."""
from skelgraph.data.readers.bvh import read_bvh, read_bvh_layout
from skelgraph.data.readers.ntu import NTU120_CLASS_NAMES, parse_ntu_name, read_missing_list, read_ntu_sequence, \
    read_ntu_skeleton
from skelgraph.data.readers.numpy_io import read_numpy
from skelgraph.data.readers.nwucla import NWUCLA_CLASS_NAMES, iter_nwucla_archive, read_nwucla_json, \
    read_nwucla_member
from skelgraph.data.readers.openpose import read_kinetics_json
from skelgraph.data.readers.pyskl import read_pyskl

__all__ = ["read_bvh", "read_bvh_layout", "NTU120_CLASS_NAMES", "parse_ntu_name", "read_missing_list",
           "read_ntu_sequence", "read_ntu_skeleton", "read_numpy", "NWUCLA_CLASS_NAMES", "iter_nwucla_archive",
           "read_nwucla_json", "read_nwucla_member", "read_kinetics_json", "read_pyskl"]
