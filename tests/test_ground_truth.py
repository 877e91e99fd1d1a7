"""Every ground-truth value of SCIENCE.md section 3, through the API, samples and the CLI."""

import json
from math import log2

import numpy as np
import pytest
import torch

from inspector.cli import main
from inspector.pid import Binning, decompose, decompose_samples, lattice, pid_from_pmf
from inspector.pid.distributions import CATALOGUE, pmf

TOL = 1e-9


def expected(name, labels):
    return np.array([CATALOGUE[name].atoms.get(label, 0.0) for label in labels])


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_atoms(name):
    d = CATALOGUE[name]
    atoms = decompose(pmf(name), d.n_sources)
    np.testing.assert_allclose(atoms.values, expected(name, atoms.atom.values), atol=TOL)
    assert abs(float(atoms.sum()) - float(atoms.mutual_information)) < TOL


def test_published_numbers_written_out():
    # The table of SCIENCE.md, typed in independently of the catalogue.
    xor = decompose(pmf("xor"), 2).values
    np.testing.assert_allclose(xor, [-0.584963, 0.584963, 0.584963, 0.415037], atol=1e-6)
    and_ = decompose(pmf("and"), 2).values
    np.testing.assert_allclose(and_, [0.122556, 0.188722, 0.188722, 0.311278], atol=1e-6)
    unq = decompose(pmf("unq"), 2).values
    np.testing.assert_allclose(unq, [0.415037, 0.584963, -0.415037, 0.415037], atol=1e-6)
    parity = decompose(pmf("parity"), 3)
    assert abs(float(parity.sel(atom="{1}{2}{3}")) - log2(8 / 7)) < TOL
    assert abs(float(parity.sel(atom="{12}{13}{23}")) - log2(875 / 1024)) < TOL
    assert abs(float(parity.sel(atom="{123}")) - log2(32 / 27)) < TOL


def test_pointwise_xor_every_realisation():
    local = decompose(pmf("xor"), 2, pointwise=True)
    prob = local.probability.values
    values = local.values[prob > 0]  # (4 realisations, 4 atoms)
    assert values.shape == (4, 4)
    for row in values:
        np.testing.assert_allclose(row, [log2(2 / 3), log2(3 / 2), log2(3 / 2), log2(4 / 3)],
                                   atol=TOL)
    assert np.all(local.values[prob == 0] == 0)


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_catalogue_from_samples(name):
    d = CATALOGUE[name]
    if name in ("rdn", "trirnd"):
        s = np.array([[v] * d.n_sources for v in (0, 1)])
        t = np.array([0, 1])
    else:
        s, t = d.samples()
    for estimator in ("sparse", "dense"):
        atoms = decompose_samples(s, t, binning=Binning("discrete", bins=2), estimator=estimator)
        np.testing.assert_allclose(atoms.values, expected(name, atoms.atom.values), atol=TOL)


def test_torch_api_float32_and_batch():
    table = torch.tensor(np.stack([pmf("xor"), pmf("and")]), dtype=torch.float32)
    terms = pid_from_pmf(table, 2)
    assert terms.atoms.dtype == torch.float32 and terms.atoms.shape == (2, 4)
    np.testing.assert_allclose(terms.atoms[0].numpy(), expected("xor", lattice(2).labels()),
                               atol=1e-6)


def write_csv(path, name):
    d = CATALOGUE[name]
    table = pmf(name)
    cols = [f"x{i}" for i in range(d.n_sources)]
    lines = [",".join([*cols, "t", "p"])]
    for idx in zip(*np.nonzero(table), strict=True):
        lines.append(",".join(str(i) for i in idx) + f",{float(table[idx])!r}")
    path.write_text("\n".join(lines) + "\n")
    return cols


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_cli_json_matches_ground_truth(name, tmp_path, capsys):
    csv = tmp_path / f"{name}.csv"
    cols = write_csv(csv, name)
    assert main(["pid", str(csv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sources"] == cols
    labels = list(out["atoms"])
    assert labels == lattice(CATALOGUE[name].n_sources).labels()
    np.testing.assert_allclose(list(out["atoms"].values()), expected(name, labels), atol=TOL)
    total = sum(out["atoms"].values())
    assert abs(total - out["mutual_information"]) < TOL
    assert abs(out["mutual_information"] + out["residual_entropy"] - out["entropy"]) < TOL


def test_cli_pointwise_json_xor(tmp_path, capsys):
    csv = tmp_path / "xor.csv"
    write_csv(csv, "xor")
    assert main(["pid", str(csv), "--json", "--pointwise"]) == 0
    rows = json.loads(capsys.readouterr().out)["pointwise"]
    assert len(rows) == 4
    for row in rows:
        assert (row["sources"]["x0"] ^ row["sources"]["x1"]) == row["target"]
        np.testing.assert_allclose(list(row["atoms"].values()),
                                   [log2(2 / 3), log2(3 / 2), log2(3 / 2), log2(4 / 3)],
                                   atol=TOL)


def test_cli_counts_and_repeated_rows_are_normalised(tmp_path, capsys):
    csv = tmp_path / "and_counts.csv"
    # AND with counts, one realisation split over two rows, string-valued sources.
    csv.write_text("a,b,t,p\nlo,lo,0,5\nlo,hi,0,5\nhi,lo,0,5\nhi,hi,1,2\nhi,hi,1,3\n")
    assert main(["pid", str(csv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(list(out["atoms"].values()),
                               [0.5 * log2(32 / 27), 0.25 * log2(27 / 16),
                                0.25 * log2(27 / 16), 0.75 * log2(4 / 3)], atol=TOL)


def test_cli_samples_mode(tmp_path, capsys):
    csv = tmp_path / "xor_samples.csv"
    csv.write_text("a,b,t\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    assert main(["pid", str(csv), "--samples", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert abs(out["atoms"]["{1}{2}"] - log2(2 / 3)) < TOL
    # a constant target: every quantity is exactly zero, none printed as -0.0
    csv.write_text("a,b,t\n0,0,1\n1,0,1\n")
    assert main(["pid", str(csv), "--samples", "--json"]) == 0
    text = capsys.readouterr().out
    assert "-0.0" not in text and json.loads(text)["entropy"] == 0.0


def test_cli_table_output(tmp_path, capsys):
    csv = tmp_path / "xor.csv"
    write_csv(csv, "xor")
    assert main(["pid", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "{1}{2}" in out and "-0.584962501" in out and "H_res" in out


def test_four_sources_match_dit_stored_reference(tmp_path, capsys):
    """All 166 atoms of a random 4-source pmf against dit's PID_SX (stored: dit needs minutes
    for it), through the API and through the CLI's CSV reader."""
    from pathlib import Path

    ref = json.loads((Path(__file__).parent / "data" / "dit_four_sources.json").read_text())
    p = np.array(ref["pmf"]).reshape(ref["shape"])
    atoms = decompose(p, 4)
    assert [str(a) for a in atoms.atom.values] == list(ref["atoms"]) == lattice(4).labels()
    np.testing.assert_allclose(atoms.values, list(ref["atoms"].values()), atol=TOL, rtol=0)
    csv = tmp_path / "four.csv"
    rows = [",".join(map(str, idx)) + f",{float(p[idx])!r}" for idx in np.ndindex(p.shape)
            if p[idx]]
    csv.write_text("a,b,c,d,t,p\n" + "\n".join(rows) + "\n")
    assert main(["pid", str(csv), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(list(out["atoms"].values()), list(ref["atoms"].values()),
                               atol=TOL, rtol=0)
