import numpy as np
import pytest

from skelgraph.data.readers.ntu import _decimals, _parse_fast, _parse_lines, read_ntu_skeleton
from tests.conftest import SHARED_DATA, shared_file

A001 = "S001C001P001R001A001.skeleton"


def _tokens(text: bytes):
    words = text.split(b" ")
    start = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    return np.frombuffer(text, dtype=np.uint8), start, np.array([len(w) for w in words])


def _files():
    files = sorted((SHARED_DATA / "ntu_samples").glob("*.skeleton"))
    if not files:
        pytest.skip(f"real NTU samples not available in {SHARED_DATA}")
    return files + sorted((SHARED_DATA / "ntu_samples" / "crlf_reference").glob("*.skeleton"))


def test_fast_parser_reads_every_sample_as_the_line_parser_does():
    for path in _files():
        data = path.read_bytes()
        assert _parse_fast(data) is not None, path.name  # no sample falls back
        assert np.array_equal(read_ntu_skeleton(path), _parse_lines(data, path)), path.name


def test_decimals_are_the_nearest_float64_like_float():
    rng = np.random.default_rng(0)
    values, digits = rng.standard_normal(5000) * 10.0 ** rng.integers(-3, 4, 5000), rng.integers(0, 9, 5000)
    words = [f"{v:.{d}f}".encode() for v, d in zip(values, digits)]
    words += [b".5", b"-.25", b"5.", b"0", b"-0.0000001", b"-9.276937E-05", b"1e3", b"2E+2"]  # exponents: float()
    words += [b"123456789012345", b"-123456.1234567", b"0.000000000001", b"9" * 14 + b".", b"1234"]  # widest
    expected = [float(w) for w in words]
    assert _decimals(*_tokens(b" ".join(words))).tolist() == expected  # the last word ends the buffer: padded
    buf, start, length = _tokens(b" ".join(words) + b" " + b"0" * 16)  # every read inside the buffer: not padded
    assert _decimals(buf, start[:-1], length[:-1]).tolist() == expected


@pytest.mark.parametrize("word", [b"1.2.3", b"abc", b"-", b"1-2", b".", b"1" + b"." * 14])
def test_decimals_refuse_what_is_not_a_number(word):
    assert _decimals(*_tokens(b"1.5 " + word)) is None


@pytest.mark.parametrize("change", ["double space", "tab", "cr only"])
def test_unusual_formatting_goes_to_the_line_parser(tmp_path, change):
    data = shared_file("ntu_samples", A001).read_bytes()
    data = {"double space": data.replace(b" ", b"  ", 3), "tab": data.replace(b" ", b"\t", 3),
            "cr only": data.replace(b"\n", b"\r")}[change]
    path = tmp_path / A001
    path.write_bytes(data)
    assert _parse_fast(data) is None
    assert read_ntu_skeleton(path).shape == (1, 103, 25, 3)  # still read, by the line parser


def test_body_count_that_disagrees_with_the_bodies_goes_to_the_line_parser(tmp_path):
    lines = shared_file("ntu_samples", A001).read_bytes().split(b"\n")
    lines[1] = b"2"  # frame 1 claims two bodies, one follows
    assert _parse_fast(b"\n".join(lines)) is None
