import itertools

import numpy as np
import pytest

from inspector.errors import InfomorphError
from inspector.pid import lattice

TRIVARIATE_ORDER = [
    "{F}{C}{L}", "{F}{C}", "{F}{L}", "{C}{L}", "{F}{CL}", "{C}{FL}", "{L}{FC}", "{F}", "{C}",
    "{L}", "{FC}{FL}{CL}", "{FC}{FL}", "{FC}{CL}", "{FL}{CL}", "{FC}", "{FL}", "{CL}", "{FCL}",
]


@pytest.mark.parametrize(("n", "size"), [(1, 1), (2, 4), (3, 18), (4, 166)])
def test_lattice_sizes(n, size):
    assert len(lattice(n)) == size


def test_labels_follow_the_fields_table_order():
    assert lattice(2).labels() == ["{1}{2}", "{1}", "{2}", "{12}"]
    assert lattice(3).labels(["F", "C", "L"]) == TRIVARIATE_ORDER


@pytest.mark.parametrize("n", [2, 3, 4])
def test_order_is_a_partial_order_with_bottom_and_top(n):
    order = lattice(n).order.astype(int)
    assert np.all(np.diag(order) == 1)
    assert not np.any(order & order.T & ~np.eye(len(order), dtype=bool))  # antisymmetric
    assert np.all((order @ order > 0) <= order.astype(bool))  # transitive
    assert order[:, 0].all()  # {1}{2}..{n} is below everything
    assert order[-1].all()  # {1..n} is above everything


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_moebius_inverts_the_order(n):
    lat = lattice(n)
    assert np.array_equal(lat.moebius @ lat.order.astype(int), np.eye(len(lat), dtype=int))


@pytest.mark.parametrize("n", [2, 3, 4])
def test_antichains_are_antichains(n):
    for alpha in lattice(n).antichains:
        for a, b in itertools.permutations(alpha, 2):
            assert not set(a) <= set(b)


def test_union_terms_are_inclusion_exclusion():
    lat = lattice(3)
    row = lat.union_terms[lat.index("{1}{2}")]
    # p(A1 or A2) = p(s1) + p(s2) - p(s1, s2); subsets indexed by bit mask - 1
    expected = np.zeros(7, dtype=int)
    expected[[0, 1]] = 1
    expected[2] = -1
    assert np.array_equal(row, expected)


def test_label_parsing_is_order_free_and_strict():
    lat = lattice(3)
    names = ["F", "C", "L"]
    assert lat.index("{CL}{F}", names) == lat.index("{F}{CL}", names) == 4
    assert lat.index("{LCF}", names) == 17
    with pytest.raises(InfomorphError, match="unknown source"):
        lat.index("{F}{X}", names)
    with pytest.raises(InfomorphError, match="is not an antichain"):
        lat.index("{F}{FC}", names)
    with pytest.raises(InfomorphError, match="not of the form"):
        lat.index("F,C", names)


def test_multi_letter_names():
    lat = lattice(2)
    assert lat.labels(["ff", "ctx"]) == ["{ff}{ctx}", "{ff}", "{ctx}", "{ffctx}"]
    assert lat.index("{ctxff}", ["ff", "ctx"]) == 3


def test_bad_sizes_and_names():
    with pytest.raises(InfomorphError, match=r"must be 1\.\.4"):
        lattice(5)
    with pytest.raises(InfomorphError, match="expected 2 source names"):
        lattice(2).labels(["a"])
    with pytest.raises(InfomorphError, match="distinct"):
        lattice(2).labels(["a", "a"])
