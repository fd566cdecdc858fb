import builtins

import numpy as np
import pytest
import torch

from skelgraph.data.sample import skeleton_to_data
from skelgraph.graph.layouts import COCO17, NTU25
from skelgraph.transforms import BodyPartMask, MaskEdges
from skelgraph.viz import draw_skeleton


def masked_sample(layout, channels, frames=6, persons=2):
    keypoint = np.random.default_rng(0).normal(size=(persons, frames, layout.num_joints, channels)).astype(np.float32)
    data = MaskEdges("incident")(BodyPartMask(generator=torch.Generator().manual_seed(0))(
        skeleton_to_data(keypoint, layout)))
    return keypoint, data


def test_draw_png_3d_with_mask_and_reconstruction(tmp_path):
    pytest.importorskip("matplotlib")
    keypoint, data = masked_sample(NTU25, 3)
    out = draw_skeleton(keypoint, NTU25, frames=[0, 3, 5], keep_mask=data.keep_mask,
                        masked_edges=data.masked_edge_index, reconstruction=keypoint + 0.1, out=tmp_path / "f.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_draw_gif_2d_animation(tmp_path):
    pytest.importorskip("matplotlib")
    keypoint, data = masked_sample(COCO17, 2, frames=4, persons=1)
    out = draw_skeleton(keypoint, "coco17", keep_mask=data.keep_mask, masked_edges=data.masked_edge_index,
                        out=tmp_path / "f.gif")
    assert out.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    from PIL import Image
    assert Image.open(out).n_frames == 4


def test_draw_per_frame_mask_and_absent_person(tmp_path):
    pytest.importorskip("matplotlib")
    keypoint, _ = masked_sample(NTU25, 3)
    keypoint[1, :3] = 0  # second person absent in the first frames
    data = BodyPartMask(per_frame=True)(skeleton_to_data(keypoint, NTU25))
    assert draw_skeleton(keypoint, NTU25, frames=2, keep_mask=data.keep_mask, out=tmp_path / "g.png").exists()


def test_draw_rejects_wrong_joint_count(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="joints"):
        draw_skeleton(np.zeros((1, 2, 17, 2)), NTU25, out=tmp_path / "x.png")


def test_draw_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"skelgraph\[plot\]"):
        draw_skeleton(np.zeros((1, 2, 25, 3)), NTU25, out=tmp_path / "x.png")
