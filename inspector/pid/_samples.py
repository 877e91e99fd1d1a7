"""I^sx estimated from samples: samples -> the occupied cells -> each group's points.

The measure itself (unions, averages, Moebius inversion, goals as weighted sums) is
``_isx.py``'s; this module only reaches the marginals it needs from samples, either through
the dense joint table when its grid is small next to the samples, or at the occupied cells of
each union, so that the cost grows with the number of samples, not with bins**n.

Shapes throughout: ``codes`` (R, B, n) int64 bin indices of R rows (neurons x checkpoints) of
B samples and n sources, ``target`` (R, B, T) each sample's target distribution.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch import Tensor

from inspector.pid._isx import (
    PIDTerms,
    PointwiseTerms,
    _averages,
    _by_rows,
    _dense_points,
    _entropy,
    _finish,
    _groups,
    _merged,
    _Points,
    _pointwise,
    _ravel,
    _terms,
    _union_logs,
    _weighted_total,
)
from inspector.pid._lattice import Lattice, lattice


def _cell_key(
    row: Tensor, codes: Tensor, rows: int, n_bins: Sequence[int], mask: int
) -> tuple[Tensor, int]:
    """Row-offset key of the cell (row, s_U) of each entry: ``row`` (M,), ``codes`` (M, n) ->
    (M,) int64, and the size of the key space, rows * |grid_U|."""
    shape = [rows] + [n_bins[i] if (mask >> i) & 1 else 1 for i in range(len(n_bins))]
    return _ravel((row, *codes.unbind(-1)), shape), math.prod(shape)


_TABLE_KEYS_PER_CELL = 32
"""A goal evaluated as one group reads its sub-masks' marginals from tables indexed by the
cells' keys directly (no sort) when the key space has at most this many keys per cell: such
a mask never defines points, so its ids need not be compacted, and a zeroed table of the key
space costs less than sorting the keys (a pair mask, 4500 cells in 40000 keys: 67 against
223 us, forward and gather). Optimized goal's loss on a trained MNIST layer's batches
0.94-0.96x (16 or 32 alike), the bench's trained-like layers 0.95-0.97x (session 9 A/B)."""


_DIRECT_KEYS_PER_ENTRY = 2
"""Key spaces of at most this many keys per entry are indexed directly, larger ones sorted
(ids that define points; see ``_TABLE_KEYS_PER_CELL`` for ids that only index tables)."""


def _cell_ids(key: Tensor, size: int, per_entry: float = _DIRECT_KEYS_PER_ENTRY
              ) -> tuple[Tensor, int, Tensor | None]:
    """Cell id of each key (M,), the number of ids, and the key of every id when the ids are
    compacted (every id taken), else None (the id is the key).

    Key spaces of at most ``per_entry`` keys per entry index directly; larger ones are
    compacted with a sort, so the work stays proportional to the number of entries, never to
    bins**n.
    """
    if size <= per_entry * key.numel():
        return key, size, None
    # int32 keys sort ~1.4x faster than int64 (102k keys: 1.6 vs 2.2 ms for unique)
    small = key.int() if size <= torch.iinfo(torch.int32).max else key
    unique, inverse = torch.unique(small, return_inverse=True)
    return inverse, unique.numel(), unique


def _compact(ids: Tensor, size: int) -> tuple[Tensor, int, Tensor]:
    """Occupied ids of a direct key space, renumbered: (new id of each entry (M,) int64,
    the number C of occupied ids, and a (size,) int32 mask of them)."""
    occupied = torch.zeros(size, dtype=torch.int32, device=ids.device)
    occupied.index_fill_(0, ids, 1)
    compact = torch.cumsum(occupied, 0, dtype=torch.int32)
    return compact.index_select(0, ids).long() - 1, int(compact[-1]) if size else 0, occupied


class _Cells(NamedTuple):
    """The occupied cells of all sources, from samples: ``row`` (C,) and ``codes`` (C, n) of
    each cell, ``weight`` (T, C) = p(s, t) summed over its samples, ``of_sample`` (R * B,)
    the cell of each sample."""

    row: Tensor
    codes: Tensor
    weight: Tensor
    of_sample: Tensor


def _occupied_cells(codes: Tensor, target: Tensor, n_bins: Sequence[int]) -> _Cells:
    """Samples ``codes`` (R, B, n), ``target`` (R, B, T) summed into the cells they occupy.

    Every marginal is a sum over these cells: once the samples are summed, coarser tables
    need work proportional to the cells, not to the samples (the 1024 samples of a training
    batch fill ~45 of a trained MNIST neuron's 8000 trivariate cells, a few hundred on
    layer-like synthetic inputs)."""
    rows, samples, n = codes.shape
    weight = (target / samples).reshape(rows * samples, target.shape[-1]).T  # (T, R * B)
    row = torch.arange(rows, device=codes.device).repeat_interleave(samples)
    ids, count, keys = _cell_ids(*_cell_key(row, codes.reshape(rows * samples, n), rows,
                                            n_bins, 2**n - 1))
    if keys is None:
        ids, count, occupied = _compact(ids, count)
        keys = occupied.nonzero().squeeze(1)
    # Decoded by hand: torch.unravel_index takes 1.8x as long (int64 divisions of every axis)
    cell_codes = []
    for size in reversed(n_bins):
        quotient = torch.div(keys, size, rounding_mode="floor")
        cell_codes.append(keys - quotient * size)
        keys = quotient
    return _Cells(keys.long(), torch.stack(cell_codes[::-1], -1).long(),
                  weight.new_zeros(weight.shape[0], count).index_add_(1, ids, weight), ids)


class _Marginals(torch.autograd.Function):
    """Each group's marginals p(s_v, t) at its points, from the cells' p(s, t), in one
    autograd node: the coarse tables are group sums of the cells, gathered at the points.

    Forward: ``weight`` (T, C) the cells' p(s, t); ``masks`` {mask: (id of each cell (C,),
    number of ids)}; ``gathers``, per group, per marginal: (mask, index (P,) into that
    mask's table, or None for all of it), mask None for the cells themselves ->
    per group (V, T, P). Written straight into each group's (V, T, P) tensor (no stack);
    the backward adds each group's gradients into the tables once and gathers them back
    to the cells once per mask (autograd did that per marginal, with a node each).
    """

    @staticmethod
    def forward(ctx, weight, masks, gathers):
        ctx.set_materialize_grads(False)
        ctx.masks, ctx.gathers, ctx.shape = masks, gathers, weight.shape
        t_size = weight.shape[0]
        tables = {m: weight.new_zeros(t_size, count).index_add_(1, ids, weight)
                  for m, (ids, count) in masks.items()}
        tables[None] = weight
        outs = []
        for cols in gathers:
            points = next((i.numel() for _, i in cols if i is not None), weight.shape[1])
            out = weight.new_empty(len(cols), t_size, points)
            for j, (mask, index) in enumerate(cols):
                if index is None:
                    out[j].copy_(tables[mask])
                else:
                    torch.index_select(tables[mask], 1, index, out=out[j])
            outs.append(out)
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        g_weight = None
        g_tables: dict[int | None, Tensor] = {}
        for grad, cols in zip(grads, ctx.gathers, strict=True):
            if grad is None:
                continue
            for j, (mask, index) in enumerate(cols):
                if mask not in g_tables:
                    size = ctx.shape[1] if mask is None else ctx.masks[mask][1]
                    g_tables[mask] = grad.new_zeros(ctx.shape[0], size)
                if index is None:
                    g_tables[mask] += grad[j]
                else:
                    g_tables[mask].index_add_(1, index, grad[j])
        for mask, g_table in g_tables.items():
            part = g_table if mask is None else g_table.index_select(1, ctx.masks[mask][0])
            g_weight = part if g_weight is None else g_weight.add_(part)
        return g_weight, None, None


def _sample_points(
    codes: Tensor,
    target: Tensor,
    n_bins: Sequence[int],
    lat: Lattice,
    needed: Sequence[bool] | None = None,
) -> tuple[Tensor, Iterator[tuple[_Points, Tensor]]]:
    """The occupied cells of each union, from samples. ``codes`` (R, B, n), ``target``
    (R, B, T). Returns the cell of every sample (R * B,) (see :func:`_occupied_cells`) and
    the groups' points, each with the point of every cell (C,), for pointwise values.

    ``needed`` as :func:`_groups`.
    """
    rows, n = codes.shape[0], codes.shape[-1]
    cells = _occupied_cells(codes, target, n_bins)
    full = 2**n - 1
    every = torch.arange(cells.row.numel(), device=codes.device)
    ids: dict[int, tuple[Tensor, int]] = {}
    compacted: dict[int, bool] = {}
    merged = _merged(needed)
    # One group: its only union is the full source set, every other mask indexes a table
    per_entry = _TABLE_KEYS_PER_CELL if merged else _DIRECT_KEYS_PER_ENTRY

    def cell_ids(mask: int) -> tuple[Tensor, int]:
        if mask not in ids:
            mask_ids, count, keys = _cell_ids(*_cell_key(cells.row, cells.codes, rows,
                                                         n_bins, mask), per_entry)
            ids[mask], compacted[mask] = (mask_ids, count), keys is not None
        return ids[mask]

    plan = []
    for union, antichains, cols, terms in _groups(lat, needed, merged):
        if union == full:  # every cell is a point of its own
            point = first = every
        else:
            union_ids, count = cell_ids(union)
            if compacted[union]:  # every id is an occupied cell already
                point, n_points = union_ids, count
            else:
                point, n_points, _ = _compact(union_ids, count)
            # One cell per point; any would do (marginals are constant on a point): take
            # the first, deterministically.
            first = torch.full((n_points,), every.numel(), device=codes.device)
            first = first.scatter_reduce_(0, point, every, "amin")
        gathers = []
        for v in cols:
            if v + 1 == full:
                gathers.append((None, None if first is every else first))
            else:
                v_ids = cell_ids(v + 1)[0]
                gathers.append((v + 1, v_ids if first is every else v_ids.index_select(0, first)))
        row = cells.row if first is every else cells.row.index_select(0, first)
        plan.append((antichains, cols.index(union - 1), row, _terms(terms, target), point,
                     gathers))
    margs = _Marginals.apply(cells.weight, ids, [p[-1] for p in plan])

    def groups() -> Iterator[tuple[_Points, Tensor]]:
        for (antichains, weight_col, row, terms, point, _), marg_t in zip(plan, margs,
                                                                           strict=True):
            yield _Points(antichains, marg_t, marg_t[weight_col], row, terms), point

    return cells.of_sample, groups()


def _flatten_samples(codes: Tensor, target: Tensor, n_bins: Sequence[int]):
    if codes.dim() < 2 or target.dim() != codes.dim() or codes.shape[:-1] != target.shape[:-1]:
        raise ValueError(
            "codes (*batch, sample, source) and target (*batch, sample, T) disagree: "
            f"{tuple(codes.shape)} vs {tuple(target.shape)}"
        )
    if len(n_bins) != codes.shape[-1]:
        raise ValueError(f"n_bins has {len(n_bins)} entries for {codes.shape[-1]} sources")
    if codes.shape[-2] == 0:
        raise ValueError("no samples: a distribution needs at least one sample per row")
    rows = math.prod(codes.shape[:-2])  # explicit sizes: an empty batch has no -1 to infer
    return (
        codes.shape[:-2],
        codes.reshape(rows, *codes.shape[-2:]),
        target.reshape(rows, *target.shape[-2:]),
    )


_TABLE_CELLS_PER_SAMPLE = 4.0
"""Samples go through the dense table when it has at most this many cells per sample (so
its memory stays within 4x the samples'): 20^3 grids from 2048 samples ran 10-15 % faster
through the table, 20^2 grids 2x (measured)."""


def _points_from_samples(
    codes: Tensor,
    target: Tensor,
    n_bins: Sequence[int],
    lat: Lattice,
    needed: Sequence[bool] | None = None,
) -> Iterator[_Points]:
    """Points for the averaged terms from samples: through the dense table when its grid is
    small next to the samples (say 20 x 20 bins and 1024 samples: a table of 400 cells per
    row is cheaper than keying, sorting and gathering the samples), else at the occupied
    cells only. Same values and gradients either way (tested). With a gradient the table
    keeps its empty cells (dropping them was no faster: 1.01x for a readout's 10 x 20 x 20
    cells, 1.16x for 100 x 6 x 3 occupied of 20 x 20); a goal's antichains are merged into
    one group as in :func:`_sample_points`. Losses with gradients through the table, against
    the occupied cells' route (100 neurons, 1024 samples, 20 x 20 bins, measured): 0.75-0.82x
    on uniformly spread codes, 0.95x for a trained-like bivariate-context hidden layer,
    0.89-0.90x for readouts (10 neurons)."""
    if math.prod(n_bins) <= _TABLE_CELLS_PER_SAMPLE * codes.shape[-2]:
        by_t = _table(codes, target, n_bins)
        return (p for p, _ in _dense_points(by_t, lat, not target.requires_grad, needed,
                                            _merged(needed)))
    return (p for p, _ in _sample_points(codes, target, n_bins, lat, needed)[1])


def pid_from_samples(
    codes: Tensor, target: Tensor, n_bins: Sequence[int], threads: bool = True
) -> PIDTerms:
    """I^sx decomposition estimated from samples: through the dense table when it has at
    most ``_TABLE_CELLS_PER_SAMPLE`` cells per sample, else touching only occupied cells (the
    cost grows with the number of samples, not with bins**n).

    ``threads``: large batches are split into row blocks computed in worker threads (faster
    for analysis). A process that goes on computing with torch afterwards should pass False:
    once worker threads have started OpenMP teams there are more OpenMP threads than cores,
    and GNU OpenMP then stops spin-waiting between parallel regions, which slowed every later
    training step of the same process by 1.5-1.8x (measured).

    Shapes: ``codes`` (*batch, sample, source) int64 bin indices, source i in [0, n_bins[i]);
    ``target`` (*batch, sample, T) the target distribution of each sample (one-hot for hard
    labels; [1 - theta, theta] for a soft binary output), rows summing to 1. Equivalent to
    ``pid_from_pmf`` on the table p(s, t) = (1/B) sum_i 1{codes_i = s} target_i(t).
    Differentiable with respect to ``target``. Returns :class:`PIDTerms` in bits.
    """
    batch, codes, target = _flatten_samples(codes, target, n_bins)
    lat = lattice(codes.shape[-1])

    def rows(codes: Tensor, target: Tensor) -> PIDTerms:
        entropy = _entropy(target.mean(-2))
        groups = _points_from_samples(codes, target, n_bins, lat)
        return _finish(lat, *_averages(groups, codes.shape[0], entropy, len(lat)), entropy)

    terms = _by_rows(rows, codes, target) if threads else rows(codes, target)
    return PIDTerms(*(x.reshape((*batch, *x.shape[1:])) for x in terms))


def pointwise_from_samples(codes: Tensor, target: Tensor, n_bins: Sequence[int]) -> PointwiseTerms:
    """Pointwise atoms at every sample and target value.

    Shapes as :func:`pid_from_samples`; returns fields (*batch, sample, T, atom) in bits, 0 where
    p(s_i, t) = 0. Averaging with weights target / B over (sample, T) gives the averaged atoms.
    """
    batch, codes, target = _flatten_samples(codes, target, n_bins)
    lat = lattice(codes.shape[-1])
    rows, samples, t_size = target.shape
    log_p = target.new_zeros(rows * samples, len(lat))
    log_pt = target.new_zeros(rows * samples, t_size, len(lat))
    cell_t = None
    sample_cell, groups = _sample_points(codes, target, n_bins, lat)
    for g, point in groups:
        point = point.index_select(0, sample_cell)
        lp, lpt = _union_logs(g.marg_t, g.terms)
        log_p[:, g.antichains] = lp.index_select(0, point)
        log_pt[..., g.antichains] = lpt.index_select(0, point)
        cell_t = g.weight.T.index_select(0, point)  # the last group is the full source set
    p_t = target.mean(-2).repeat_interleave(samples, 0)
    terms = _pointwise(lat, log_p, log_pt, p_t)
    occupied = (cell_t > 0).unsqueeze(-1)
    return PointwiseTerms(
        *(torch.where(occupied, x, 0.0).reshape((*batch, samples, t_size, len(lat)))
          for x in terms)
    )


def _table(codes: Tensor, target: Tensor, n_bins: Sequence[int]) -> Tensor:
    """The joint table target-major, (T, R, k_1..k_n), from ``codes`` (R, B, n) and ``target``
    (R, B, T). Built in that layout (not transposed after): the backward pass of the sum then
    gathers contiguous rows (from a transposed table it took 15x as long: 505 against 32 us
    for 10 x 400 cells, measured)."""
    rows, samples, t_size = target.shape
    row = torch.arange(rows, device=codes.device).repeat_interleave(samples)
    key, size = _cell_key(row, codes.reshape(rows * samples, codes.shape[-1]), rows, n_bins,
                          2 ** codes.shape[-1] - 1)
    table = target.new_zeros(t_size, size)
    table.index_add_(1, key, (target / samples).reshape(rows * samples, t_size).T)
    return table.view(t_size, rows, *n_bins)


def pmf_from_samples(codes: Tensor, target: Tensor, n_bins: Sequence[int]) -> Tensor:
    """The dense joint table p(s_1..s_n, t) = (1/B) sum_i 1{codes_i = s} target_i(t).

    Shapes: ``codes`` (*batch, sample, source), ``target`` (*batch, sample, T) ->
    (*batch, n_bins[0], ..., n_bins[n-1], T). Differentiable with respect to ``target``.
    """
    batch, codes, target = _flatten_samples(codes, target, n_bins)
    return _table(codes, target, n_bins).movedim(0, -1).reshape(
        (*batch, *n_bins, target.shape[-1]))


def goal_from_samples(
    codes: Tensor,
    target: Tensor,
    n_bins: Sequence[int],
    atom_weights: Tensor,
    residual_weight: float = 0.0,
    reduction: str = "none",
) -> Tensor:
    """A local goal G = sum_a gamma_a Pi_a + gamma_res H_res (bits), from samples.

    Shapes: ``codes``, ``target`` as :func:`pid_from_samples`; ``atom_weights`` (A,) gamma in
    ``lattice(n).antichains`` order -> (*batch,), or with ``reduction="sum"`` their sum, a
    scalar (what a layer's loss needs, computed without splitting the points by row: ~10 %
    faster for the optimized trivariate goal). Equal to ``atoms @ gamma + gamma_res *
    residual_entropy`` of :func:`pid_from_samples`, but since gamma . Pi = (M^T gamma) . I^sx
    only the redundancies with a non-zero coefficient are computed: a goal such as
    Pi{F}{C} needs two of the 18 trivariate antichains. Differentiable with respect to
    ``target``.
    """
    if reduction not in ("none", "sum"):
        raise ValueError(f"reduction must be 'none' or 'sum', got {reduction!r}")
    batch, codes, target = _flatten_samples(codes, target, n_bins)
    lat = lattice(codes.shape[-1])
    gamma = torch.as_tensor(atom_weights, dtype=target.dtype, device=target.device)
    if gamma.shape != (len(lat),):
        raise ValueError(f"atom_weights must have shape ({len(lat)},), got {tuple(gamma.shape)}")
    coef = gamma @ torch.tensor(lat.moebius, dtype=target.dtype, device=target.device)
    coef[-1] -= residual_weight  # H_res = H(T) - I^sx({1..n})
    needed = (coef != 0).tolist()
    entropy = _entropy(target.mean(-2))
    groups = _points_from_samples(codes, target, n_bins, lat, needed)
    if reduction == "sum":  # totals in float64 (see _weighted_total), then the dtype
        # gamma . Pi + gamma_res H_res = sum_a coef_a (I^sx_a - H) + (sum_a coef_a + gamma_res) H
        entropy = entropy.double().sum()
        goal = (_weighted_total(groups, codes.shape[0], coef)
                + (coef.double().sum() + residual_weight) * entropy)
        return goal.to(target.dtype)
    i_plus, i_minus = _averages(groups, codes.shape[0], entropy, len(lat))
    goal = (i_plus - i_minus) @ coef + residual_weight * entropy
    return goal.reshape(batch)
