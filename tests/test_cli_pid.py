"""`infomorph pid`: bad input gives one line on stderr and exit code 2, never a traceback."""

import os
import subprocess
import sys

import numpy as np
import pytest

from inspector.cli import main

GOOD = "a,b,t,p\n0,0,0,0.25\n0,1,1,0.25\n1,0,1,0.25\n1,1,0,0.25\n"

CASES = {
    "missing target column": (GOOD, ["--target", "y"],
                              "unknown target column 'y'; columns are: a, b, t, p"),
    "missing explicit weight": (GOOD, ["--weight", "w"],
                                "unknown weight column 'w'; columns are: a, b, t, p"),
    "no weight column": ("a,b,t\n0,0,0\n", [], "no weight column 'p'"),
    "negative weight": ("a,t,p\n0,0,0.5\n1,1,-0.5\n", [], "must be >= 0: line 3 holds -0.5"),
    "non-numeric weight": ("a,t,p\n0,0,0.5\n1,1,abc\n", [],
                           "must be numeric: line 3 holds 'abc'"),
    "infinite weight": ("a,t,p\n0,0,inf\n", [], "must be numeric"),
    "all zero": ("a,t,p\n0,0,0\n1,1,0\n", [], "weight column 'p' is all zero"),
    "five sources": ("a,b,c,d,e,t,p\n0,0,0,0,0,0,1\n", [],
                     "at most 4 sources are supported, got 5 (a, b, c, d, e)"),
    "no sources": ("t,p\n0,1\n", [], "no source columns"),
    "empty file": ("", [], "is empty"),
    "header only": ("a,t,p\n", [], "has a header but no rows"),
    "empty cell": ("a,t,p\n0,,1\n", [], "column 't' has an empty value (line 2)"),
    "ragged rows": ("a,t,p\n0,0,1,5,6\n", [], "not a readable CSV file"),
    "samples and weight": (GOOD, ["--samples", "--weight", "p"], "exclude each other"),
    "repeated columns": ("a,a,t,p\n0,0,0,1\n", [], "needs distinct, non-empty column names"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_csv_is_one_line_exit_2(case, tmp_path, capsys):
    text, extra, message = CASES[case]
    path = tmp_path / "in.csv"
    path.write_text(text)
    before = path.read_bytes()
    assert main(["pid", str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infomorph: error: ")
    assert err.count("\n") == 1
    if message:
        assert message in err
    assert path.read_bytes() == before  # reading never modifies the input


def test_missing_file_and_directory(tmp_path, capsys):
    assert main(["pid", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["pid", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "blob.csv"
    path.write_bytes(bytes(range(256)) * 4)
    assert main(["pid", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("infomorph: error: ") and err.count("\n") == 1


def test_console_script_has_no_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,t,p\n0,0,x\n")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", "inspector", "pid", str(path)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "infomorph: error: weight column 'p' must be numeric: line 2 holds 'x'"
    ]


def test_debug_shows_the_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,t,p\n0,0,x\n")
    proc = subprocess.run([sys.executable, "-m", "inspector", "--debug", "pid", str(path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_unknown_verb_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2


def test_shuffle_null_of_observations(tmp_path, capsys):
    import json

    path = tmp_path / "xor.csv"
    rows = [f"{a},{b},{a ^ b}" for a in (0, 1) for b in (0, 1)] * 16  # 64 observations
    path.write_text("s1,s2,y\n" + "\n".join(rows) + "\n")
    argv = ["pid", str(path), "--samples", "--target", "y", "--json"]
    assert main([*argv, "--shuffles", "99", "--seed", "3"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["shuffles"] == 99 and set(result["p_value"]) == set(result["atoms"])
    # every XOR atom (red -0.585, unq 0.585, syn 0.415 bits) is far from the null
    assert all(p == pytest.approx(1 / 100) for p in result["p_value"].values())
    # the null's mean is the bias of 64 observations: I(Y; S) of a shuffle is small, >= 0
    assert 0 <= sum(result["null_mean"].values()) < 0.1
    assert main([*argv, "--shuffles", "99", "--seed", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["null_mean"] == result["null_mean"]
    assert main([*argv]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "p_value" not in plain and plain["atoms"] == result["atoms"]
    assert main(["pid", str(path), "--samples", "--target", "y", "--shuffles", "9"]) == 0
    out = capsys.readouterr().out
    assert "null mean" in out and "shuffle null of 9 permutations" in out


@pytest.mark.parametrize(("extra", "message"), [
    (["--shuffles", "5"], "--shuffles needs --samples"),
    (["--samples", "--shuffles", "-1"], "--shuffles must be >= 0, got -1"),
])
def test_shuffle_null_errors(extra, message, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text(GOOD)
    assert main(["pid", str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _xor_of_signs(tmp_path, n=400):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, 2))
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(int)
    path = tmp_path / "signs.csv"
    lines = "".join(f"{a:.17g},{b:.17g},{t}\n" for (a, b), t in zip(x, y, strict=True))
    path.write_text("x1,x2,y\n" + lines)
    return path, x, y


def _atoms_of(codes, y, bins):
    from inspector.pid import decompose

    table = np.zeros((bins, bins, 2))
    np.add.at(table, (codes[:, 0], codes[:, 1], y), 1)
    return decompose(table, 2).values


@pytest.mark.parametrize(("extra", "codes_of"), [
    # equal-frequency: the lower half of each source's values in bin 0
    (["--bins", "2"], lambda x: (np.argsort(np.argsort(x, 0), 0) >= len(x) // 2).astype(int)),
    (["--bins", "4", "--binning", "fixed", "--range", "-1", "1"],
     lambda x: np.clip(np.floor((x + 1) / 0.5), 0, 3).astype(int)),
])
def test_binned_observations_decompose_their_binned_table(extra, codes_of, tmp_path, capsys):
    import json

    path, x, y = _xor_of_signs(tmp_path)
    assert main(["pid", str(path), "--samples", "--target", "y", "--json", *extra]) == 0
    result = json.loads(capsys.readouterr().out)
    bins = int(extra[1])
    expected = _atoms_of(codes_of(x), y, bins)
    assert list(result["atoms"].values()) == pytest.approx(expected, abs=1e-12)
    assert result["binning"]["bins"] == bins
    if bins == 2:  # the signs: close to XOR's atoms (red -0.585, unq 0.585, syn 0.415)
        assert list(result["atoms"].values()) == pytest.approx(
            [-0.585, 0.585, 0.585, 0.415], abs=0.03)
    # every value its own category instead: each observation identifies y (I = H(Y))
    assert main(["pid", str(path), "--samples", "--target", "y", "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert raw["mutual_information"] == pytest.approx(raw["entropy"])


def test_binned_pointwise_rows_name_their_bins(tmp_path, capsys):
    import json

    path, _, _ = _xor_of_signs(tmp_path)
    argv = ["pid", str(path), "--samples", "--target", "y", "--bins", "2", "--binning",
            "maxnorm", "--pointwise", "--json"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)["pointwise"]
    assert {r["sources"]["x1"] for r in rows} <= {"[-1, 0)", "[0, 1)"}
    assert sum(r["p"] for r in rows) == pytest.approx(1.0)


@pytest.mark.parametrize(("text", "extra", "message"), [
    (GOOD, ["--bins", "3"], "--bins needs --samples"),
    (GOOD, ["--samples", "--binning", "fixed"], "--binning and --range take effect with --bins"),
    (GOOD, ["--samples", "--range", "0", "1"], "--binning and --range take effect with --bins"),
    (GOOD, ["--samples", "--bins", "3", "--binning", "fixed"], "goes with --binning fixed"),
    (GOOD, ["--samples", "--bins", "3", "--range", "0", "1"], "goes with --binning fixed"),
    (GOOD, ["--samples", "--bins", "1"], "bins must be an integer >= 2, got 1"),
    ("a,b,t\n1,x,0\n2,3,1\n", ["--samples", "--bins", "2"],
     "column 'b' must hold finite numbers to be binned: line 2 holds 'x'"),
    ("a,b,t\n1,inf,0\n2,3,1\n", ["--samples", "--bins", "2"],
     "column 'b' must hold finite numbers to be binned: line 2 holds 'inf'"),
    (GOOD, ["--samples", "--bins", "2", "--binning", "fixed", "--range", "0", "inf"],
     "value_range must be finite"),
    (GOOD, ["--samples", "--shuffles", "3", "--seed", "-1"], "a seed >= 0, got -1"),
])
def test_binning_errors(text, extra, message, tmp_path, capsys):
    path = tmp_path / "in.csv"
    path.write_text(text)
    assert main(["pid", str(path), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_shuffle_null_of_a_constant_source(tmp_path, capsys):
    import json

    path = tmp_path / "const.csv"
    path.write_text("a,y\n1,0\n1,1\n1,0\n")  # one value: a single-bin source
    assert main(["pid", str(path), "--samples", "--target", "y", "--shuffles", "4",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["p_value"] == {"{1}": 1.0} and result["null_mean"] == {"{1}": 0.0}


@pytest.mark.parametrize("text", [
    "s1\ts2\tt\tp\n0\t0\t0\t0.25\n0\t1\t1\t0.25\n1\t0\t1\t0.25\n1\t1\t0\t0.25\n",
    "s1;s2;t;p\n0;0;0;0,25\n0;1;1;0,25\n1;0;1;0,25\n1;1;0;0,25\n",  # decimal commas
    "\ufeffs1,s2,t,p\n0,0,0,0.25\n0,1,1,0.25\n1,0,1,0.25\n1,1,0,0.25\n",  # a BOM
])
def test_tab_semicolon_and_standard_input(text, tmp_path, capsys, monkeypatch):
    import io
    import json

    path = tmp_path / "xor.txt"
    path.write_text(text, encoding="utf-8")
    assert main(["pid", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sources"] == ["s1", "s2"]
    assert list(result["atoms"].values()) == pytest.approx(
        [-0.584963, 0.584963, 0.584963, 0.415037], abs=1e-6)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert main(["pid", "-"]) == 0
    assert capsys.readouterr().out.startswith("I^sx decomposition of standard input (bits)")
