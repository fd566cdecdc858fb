import pytest

from skelgraph.data.splits import SplitFileError, ntu_splits, nwucla_splits, read_id_list, read_split_file


def test_packaged_lists_have_the_published_sizes():
    assert len(read_id_list("ntu60_xsub_train_subjects")) == 20
    assert len(read_id_list("ntu120_xsub_train_subjects")) == 53
    assert read_id_list("ntu60_xview_train_cameras") == {2, 3}


def ntu(setup, camera, subject, action):
    return (f"S{setup:03d}C{camera:03d}P{subject:03d}R001A{action:03d}",
            dict(setup=setup, camera=camera, subject=subject, action=action))


def test_ntu_splits_follow_the_protocols():
    samples = [ntu(1, 1, 1, 1), ntu(1, 2, 3, 2), ntu(18, 3, 45, 61)]
    splits = ntu_splits(samples)
    assert splits["xsub_train"] == [samples[0][0]] and splits["xsub_test"] == [samples[1][0]]
    assert splits["xview_test"] == [samples[0][0]] and splits["xview_train"] == [samples[1][0]]
    # the NTU-120-only sample is in no NTU-60 split, but in NTU-120's
    assert samples[2][0] in splits["xsub120_train"] and samples[2][0] in splits["xset120_train"]
    assert all(samples[2][0] not in splits[k] for k in ("xsub_train", "xsub_test", "xview_train", "xview_test"))


def test_nwucla_view3_is_test():
    splits = nwucla_splits([("a", {"view": 1}), ("b", {"view": 3}), ("c", {"view": 2})])
    assert splits == {"xview_train": ["a", "c"], "xview_test": ["b"]}


def test_split_file_csv_with_header(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("name,split\na,train\nb,test\nc,train\n")
    assert read_split_file(path) == {"train": ["a", "c"], "test": ["b"]}


def test_split_file_whitespace_and_json(tmp_path):
    txt, js = tmp_path / "s.txt", tmp_path / "s.json"
    txt.write_text("a train\n# comment\nb val\n")
    js.write_text('{"train": ["a"], "val": ["b"]}')
    assert read_split_file(txt) == read_split_file(js) == {"train": ["a"], "val": ["b"]}


def test_bad_split_file_names_line(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("a,train\nb\n")
    with pytest.raises(SplitFileError, match="s.csv: line 2"):
        read_split_file(path)
