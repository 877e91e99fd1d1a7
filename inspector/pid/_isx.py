"""I^sx (shared-exclusion) redundancy and its atoms, from a joint table or from samples.

One computation, two ways of reaching the marginals it needs:

- from a dense joint table p(s_1, ..., s_n, t) (``pid_from_pmf``);
- from samples (``pid_from_samples``, in ``_samples.py``): hard source codes and a target
  distribution per sample (one-hot, or soft [1 - theta, theta]), p(s, t) = (1/B) sum_i
  1{s_i = s} q_i(t). Marginals are group sums over occupied cells only, so the cost grows
  with the number of samples, not with bins**n (grids small next to the samples go through
  the table instead, which is faster).

For an antichain alpha = {a_1..a_m} and a realisation (s, t), with events A_j = {S_{a_j} = s_{a_j}}:

    i+ = -log2 p(A_1 or .. or A_m)            (informative part, bits)
    i- = -log2 p(A_1 or .. or A_m | t)        (misinformative part, bits)
    i^sx(t : alpha) = i+ - i-

with union probabilities from inclusion-exclusion over marginals (``Lattice.union_terms``). The
averaged I^sx is the p(s, t)-weighted mean; atoms are its Moebius inversion over the lattice.

Antichains are evaluated in groups that share the union U of their sets, at the occupied cells
of U only ("points"): p(s, t)-weighted sums over the full grid reduce to sums over s_U because
every quantity involved depends on s_U alone. Realisations of zero probability contribute
nothing and are guarded so that values and gradients stay finite (no NaN) for deterministic or
constant targets and for empty cells.

Everything is torch (CPU or CUDA, any float dtype) and differentiable with respect to the
probabilities (the table, or the per-sample target distributions).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn.functional import threshold as _threshold

from inspector.pid._lattice import Lattice, lattice

_ROW_THREADS = max(1, min(4, os.cpu_count() or 1))
_ROW_SPLIT_ELEMENTS = 1 << 18
"""Batches of at least this many input elements are split by rows over ``_ROW_THREADS``
threads: much of the estimator (scatter-adds, sorts, gathers) runs on one core per call."""


_BLOCK_ELEMENTS = 1 << 20
"""Split batches are cut into blocks of about this many input elements (at least one per
thread): a whole (1000, 20, 20, 20, 2) batch per thread spends its time copying tables far
larger than the caches (dense trivariate tables: 2.7 -> 2.0 ms each, measured)."""


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_ROW_THREADS, thread_name_prefix="infomorph-pid")


def _by_rows(fn, *tensors: Tensor):
    """``fn(*tensors)`` for tensors sharing a leading row axis, computed on row blocks in
    threads and concatenated field by field (``fn`` returns a NamedTuple of tensors): the same
    values as one call, since rows never interact. Grad mode follows the caller's thread.
    (Training's ``goal_from_samples`` is not split: its backward pass is serial anyway, and
    splitting its forward measured no faster.)"""
    rows = tensors[0].shape[0]
    size = tensors[0].numel()
    parts = min(max(_ROW_THREADS, -(-size // _BLOCK_ELEMENTS)), rows)
    if parts < 2 or size < _ROW_SPLIT_ELEMENTS:
        return fn(*tensors)
    grad = torch.is_grad_enabled()
    bounds = [rows * k // parts for k in range(parts + 1)]

    def block(k: int):
        with torch.set_grad_enabled(grad):
            return fn(*(t[bounds[k]:bounds[k + 1]] for t in tensors))

    results = list(_pool().map(block, range(parts)))
    return type(results[0])(*(torch.cat(field) for field in zip(*results, strict=True)))


class PIDTerms(NamedTuple):
    """Averaged decomposition of one or many targets. All values in bits.

    Shapes: ``atoms``, ``informative``, ``misinformative``, ``redundancy``: (*batch, atom);
    ``entropy``, ``mutual_information``, ``residual_entropy``: (*batch,);
    ``source_information``: (*batch, source). ``redundancy`` is I^sx of each antichain (the
    cumulative sums of the atoms below it); ``informative - misinformative == atoms``.
    """

    atoms: Tensor
    informative: Tensor
    misinformative: Tensor
    redundancy: Tensor
    entropy: Tensor
    mutual_information: Tensor
    residual_entropy: Tensor
    source_information: Tensor


class PointwiseTerms(NamedTuple):
    """Pointwise (per realisation) atoms in bits, shape (*batch, *realisation, target, atom).

    ``realisation`` is the source grid (k_1, ..., k_n) for a table and (sample,) for samples.
    Realisations of zero probability hold 0.
    """

    atoms: Tensor
    informative: Tensor
    misinformative: Tensor


class _Points(NamedTuple):
    """The occupied cells ("points") of one union group, flattened over batch rows.

    ``antichains``: indices of the group's antichains; ``marg_t`` (V, T, P): p(s_V, t) at each
    point for the V source sets the group needs; ``weight`` (T, P) = p(s_U, t);
    ``row`` (P,) int64: the batch row of each point; ``terms`` (A_g, V) inclusion-exclusion;
    ``per_row``: when every row has this many points, stored row after row (a whole grid), 0
    otherwise; then ``first_row`` is the row of the first point. Points are the last,
    contiguous axis: the small (A_g, V) matrix multiplies wide blocks. A group may come as
    several ``_Points`` (blocks of rows): their sums add up.
    """

    antichains: tuple[int, ...]
    marg_t: Tensor
    weight: Tensor
    row: Tensor
    terms: Tensor
    per_row: int = 0
    first_row: int = 0


def _safe_log2(x: Tensor) -> Tensor:
    """log2 of a probability, with 0 mapped to log2(tiny) so that 0 * log2(0) stays 0 and no
    value or gradient is NaN (the clamp also blocks the gradient of clamped entries)."""
    return torch.log2(x.clamp_min(torch.finfo(x.dtype).tiny))


def _entropy(p: Tensor) -> Tensor:
    """Shannon entropy in bits along the last axis; 0 log 0 = 0 with a finite gradient."""
    return -(p * _safe_log2(p)).sum(-1)


def _union(marg_t: Tensor, terms: Tensor) -> Tensor:
    """p(T = t, A_1 or .. or A_m): (V, T, P) marginals -> (T, A, P), by inclusion-exclusion.

    Target-major output: each t is one (A, V) x (V, P) product read straight from the
    strided marginals (a (V, T*P) reshape of a slice of points copies them; 2.2x slower)."""
    return torch.matmul(terms, marg_t.transpose(0, 1))


def _union_logs(marg_t: Tensor, terms: Tensor) -> tuple[Tensor, Tensor]:
    """log2 p(A_1 or .. or A_m) (P, A) and log2 p(T = t, A_1 or .. or A_m) (P, T, A).

    Shapes: ``marg_t`` (V, T, P) = p(S_V = s_V, T = t) at P points; ``terms`` (A, V).
    """
    union_t = _union(marg_t, terms)
    return _safe_log2(union_t.sum(0)).T, _safe_log2(union_t).permute(2, 0, 1)


_CHUNK_ELEMENTS = 1 << 20
"""Elements of the (T, A, points) union tensor handled at once: small enough to stay in cache."""


_KEEP_ELEMENTS = 1 << 24
"""Up to this many union elements (A x T x points), forward keeps what backward needs."""


def _chunks(points: int, per_point: int, per_row: int = 0) -> list[slice]:
    """Slices of about ``_CHUNK_ELEMENTS`` elements; of whole rows when ``per_row``."""
    step = max(1, _CHUNK_ELEMENTS // max(per_point, 1))
    if per_row:
        step = max(1, step // per_row) * per_row
    return [slice(i, i + step) for i in range(0, points, step)]


def _add_row_sums(
    acc: Tensor, values: Tensor, row: Tensor, sl: slice, per_row: int, first_row: int = 0
) -> None:
    """``acc`` (A, R) += the sums per batch row of ``values`` (A, c), the points ``sl``.

    Points of whole grids are summed as a (A, rows, per_row) view: ~10x faster than the
    index_add that irregular (compacted) points need (measured). ``row`` None: every point
    counts to one total, ``acc`` (A, 1)."""
    if row is None:
        acc[:, 0] += values.sum(1, dtype=acc.dtype)
    elif per_row:
        first = first_row + sl.start // per_row
        sums = values.view(values.shape[0], -1, per_row).sum(-1)
        acc[:, first:first + sums.shape[1]] += sums
    else:
        acc.index_add_(1, row[sl], values.to(acc.dtype))


def _slab_sum(x: Tensor) -> Tensor:
    """x.sum(0) for a short leading axis, as adds of slabs (see :func:`_target_sum`)."""
    out = x[0].clone() if x.shape[0] == 1 else x[0] + x[1]
    for t in range(2, x.shape[0]):
        out += x[t]
    return out


def _target_sum(x: Tensor, w: Tensor) -> Tensor:
    """sum_t w[t] * x[t]: (T, A, c) and (T, 1, c) -> (A, c), as multiply-adds of slabs (a
    reduction over the short leading axis first zero-fills its output: one more pass)."""
    out = x[0] * w[0]
    for t in range(1, x.shape[0]):
        out.addcmul_(x[t], w[t])
    return out


class _UnionInformation(torch.autograd.Function):
    """Point-weighted sums of log2 union probabilities, per batch row; fused and chunked.

    Forward: ``marg_t`` (V, T, P), ``weight`` (T, P), ``terms`` (A, V), ``row`` (P,),
    ``n_rows``, ``per_row``, ``first_row`` (see :class:`_Points`) ->
    ``(sum_p w(p) log2 p(union)(p), sum_p,t w(t,p) log2 p(union, t)(p))``, each (n_rows, A),
    with w(p) = sum_t w(t, p); ``row`` None sums every point into one row (n_rows = 1: the
    whole batch's total, no scatter); ``sum_dtype`` the dtype of those sums (default: the
    input's). The (T, A, P) union probabilities are never held whole: the
    backward pass rebuilds them chunk by chunk instead of saving them, which keeps the work
    in cache and the memory at O(V T P).
    """

    @staticmethod
    def forward(ctx, marg_t, weight, terms, row, n_rows, per_row, first_row, sum_dtype=None):
        ctx.save_for_backward(marg_t, weight, terms, row)
        _, t_size, points = marg_t.shape
        tiny = torch.finfo(marg_t.dtype).tiny
        plus = marg_t.new_zeros(terms.shape[0], n_rows, dtype=sum_dtype or marg_t.dtype)
        minus = torch.zeros_like(plus)
        # Small enough (a training batch): keep each chunk's unions and logs for backward
        # instead of rebuilding them there (saves a matmul and two logs per chunk).
        keep = any(ctx.needs_input_grad[:2]) and (
            terms.shape[0] * t_size * points <= _KEEP_ELEMENTS)
        ctx.kept, ctx.per_row = [], per_row
        for sl in _chunks(points, t_size * terms.shape[0], per_row):
            union_t = _union(marg_t[..., sl], terms)  # (T, A, c)
            w = weight[:, sl].unsqueeze(1)  # (T, 1, c)
            union = _slab_sum(union_t)
            log_p = union.clamp_min(tiny).log2_()
            if keep:
                log_t = union_t.clamp_min(tiny).log2_()
                ctx.kept.append((union_t, union, log_t, log_p))
            else:
                log_t = union_t.clamp_min_(tiny).log2_()
            _add_row_sums(minus, _target_sum(log_t, w), row, sl, per_row, first_row)
            _add_row_sums(plus, log_p.mul(w.sum(0)), row, sl, per_row, first_row)
        return plus.T, minus.T

    @staticmethod
    def backward(ctx, g_plus, g_minus):
        marg_t, weight, terms, row = ctx.saved_tensors
        need_marg, need_weight = ctx.needs_input_grad[:2]
        _, t_size, points = marg_t.shape
        tiny = torch.finfo(marg_t.dtype).tiny
        # Every chunk writes its slice of the gradients, so they start uninitialised.
        grad_marg = torch.empty_like(marg_t) if need_marg else None
        grad_weight = torch.empty_like(weight) if need_weight else None
        g_plus, g_minus = (g.T.to(marg_t.dtype).contiguous() for g in (g_plus, g_minus))  # (A, R)
        kept = iter(ctx.kept)
        for sl in _chunks(points, t_size * terms.shape[0], ctx.per_row):
            if ctx.kept:
                union_t, union, log_t, log_p = next(kept)
            else:
                union_t = _union(marg_t[..., sl], terms)  # (T, A, c)
                union = _slab_sum(union_t)  # (A, c), summed as in forward
                log_t, log_p = _safe_log2(union_t), _safe_log2(union)
            if row is None:  # one total: its gradient is the same at every point
                gp, gm = g_plus, g_minus
            else:
                gp, gm = g_plus.index_select(1, row[sl]), g_minus.index_select(1, row[sl])
            w = weight[:, sl]  # (T, c)
            if need_weight:
                gw = (log_t * gm).sum(1)  # (T, c)
                grad_weight[:, sl] = gw.add_((log_p * gp).sum(0))
            if need_marg:
                # Clamped (empty) unions pass no gradient: dividing by inf gives exactly 0.
                # threshold(x, tiny, inf) is where(x > tiny, x, inf) in one pass (12x faster
                # than the comparison and where: 55 vs 757 us on 665k unions, measured).
                gut = (w.unsqueeze(1) * gm).div_(_threshold(union_t, tiny, math.inf))
                gu = (w.sum(0) * gp).div_(_threshold(union, tiny, math.inf))
                gut = gut.add_(gu)  # (T, A, c)
                grad = torch.matmul(terms.T, gut)  # (T, V, c)
                grad_marg[..., sl] = grad.transpose(0, 1).mul_(1 / math.log(2))
        ctx.kept = []
        return grad_marg, grad_weight, None, None, None, None, None, None


_SIDE_BY_SIDE_ELEMENTS = 1 << 18
"""Irregular groups up to this many marginal values (V x T x points) may share a call."""


def _weight_column(g: _Points) -> int:
    """Which of the group's marginals its weight is (the union's own, a view of it)."""
    return next(v for v in range(g.marg_t.shape[0])
                if g.marg_t[v].data_ptr() == g.weight.data_ptr())


def _side_by_side(groups: Iterator[_Points], n_rows: int):
    """The groups as (antichains of each part, points) for one kernel call each: small
    groups of irregular points with equal inclusion-exclusion terms (a trivariate goal's
    three single-source unions, its three pairs) are put side by side, part k's points
    counted in rows k * n_rows + row. Each call costs ~0.2-0.3 ms of dispatch however few
    its points; the pairs and singles of a trained-like layer hold 1-10k points each."""
    buckets: dict[tuple, list[_Points]] = {}
    for g in groups:
        if g.per_row or g.marg_t.numel() > _SIDE_BY_SIDE_ELEMENTS:
            yield [g.antichains], g
        else:
            key = (str(g.terms.tolist()), _weight_column(g))
            buckets.setdefault(key, []).append(g)
    for (_, weight_column), parts in buckets.items():
        if len(parts) == 1:
            yield [parts[0].antichains], parts[0]
            continue
        marg_t = torch.cat([g.marg_t for g in parts], -1)
        row = torch.cat([g.row + k * n_rows for k, g in enumerate(parts)])
        yield [g.antichains for g in parts], parts[0]._replace(
            marg_t=marg_t, weight=marg_t[weight_column], row=row)


def _averages(groups: Iterator[_Points], n_rows: int, entropy: Tensor, size: int):
    """Averaged I+ and I- (n_rows, size) in bits, 0 for antichains no group covers.

    ``entropy`` (n_rows,) = H(T). Uses sum_x,t p(x,t) log2 p(t) = -H(T), so p(t) never divides
    a large tensor.
    """
    sums: dict[tuple[int, ...], tuple[Tensor, Tensor]] = {}
    for parts, g in _side_by_side(groups, n_rows):
        rows = n_rows * len(parts)
        p_all, m_all = _UnionInformation.apply(g.marg_t, g.weight, g.terms, g.row, rows,
                                               g.per_row, g.first_row)
        for k, antichains in enumerate(parts):
            p, m = p_all[k * n_rows:(k + 1) * n_rows], m_all[k * n_rows:(k + 1) * n_rows]
            if antichains in sums:  # another block of rows of the same group
                p, m = p + sums[antichains][0], m + sums[antichains][1]
            sums[antichains] = p, m
    if not sums:  # a goal of H(T) alone (or of nothing) needs no antichain
        return entropy.new_zeros(n_rows, size), entropy.new_zeros(n_rows, size)
    index = torch.tensor([a for antichains in sums for a in antichains], device=entropy.device)
    plus = entropy.new_zeros(n_rows, size).index_copy(
        1, index, -torch.cat([p for p, _ in sums.values()], 1))
    minus = entropy.new_zeros(n_rows, size).index_copy(
        1, index, -torch.cat([m for _, m in sums.values()], 1) - entropy.unsqueeze(-1))
    return plus, minus


def _weighted_total(groups: Iterator[_Points], n_rows: int, coef: Tensor) -> Tensor:
    """sum_a coef_a (I^sx_a - H(T)) summed over the rows: a float64 scalar in bits.

    With I+_a = -sum w log2 p(alpha) and I-_a = -sum w log2 p(alpha, t) - H(T), I^sx_a - H(T)
    = sum w log2 p(alpha, t) - sum w log2 p(alpha): each kernel call's sums are weighted by
    their antichains' coefficients at once (a layer's loss needs no per-row or per-antichain
    values: no scatter of the points into rows, no slicing of the sums). ``coef`` (A,) in
    ``lattice`` order. Sums of ~10^5 logs of ~10 bits whose I+ and I- then cancel to a goal of a
    few bits are accumulated in float64 (in float32 the goal was off by 0.5 %).
    """
    coef = coef.double()
    total = coef.new_zeros(())
    for parts, g in _side_by_side(groups, n_rows):
        # the part of each point: rows k * n_rows + row -> k
        row = None if len(parts) == 1 else torch.div(g.row, n_rows, rounding_mode="floor")
        p, m = _UnionInformation.apply(g.marg_t, g.weight, g.terms, row, len(parts),
                                       g.per_row, g.first_row, torch.float64)
        index = torch.tensor([a for antichains in parts for a in antichains],
                             device=coef.device)
        total = total + (m - p).reshape(-1).dot(coef.index_select(0, index))
    return total


def _finish(lat: Lattice, i_plus: Tensor, i_minus: Tensor, entropy: Tensor) -> PIDTerms:
    """Moebius inversion and summary quantities from averaged I+ and I- of shape (*batch, A)."""
    moebius = torch.tensor(lat.moebius, dtype=i_plus.dtype, device=i_plus.device)
    redundancy = i_plus - i_minus
    mutual_information = redundancy[..., -1]  # the top antichain {1..n} gives I(T; S)
    singles = [lat.antichains.index(((i,),)) for i in range(lat.n_sources)]
    return PIDTerms(
        atoms=redundancy @ moebius.T,
        informative=i_plus @ moebius.T,
        misinformative=i_minus @ moebius.T,
        redundancy=redundancy,
        entropy=entropy,
        mutual_information=mutual_information,
        residual_entropy=entropy - mutual_information,
        source_information=redundancy[..., singles],
    )


def _pointwise(lat: Lattice, log_p: Tensor, log_pt: Tensor, p_t: Tensor) -> PointwiseTerms:
    """Pointwise atoms (..., T, A) from local logs log2 p(union) (..., A) and
    log2 p(union, t) (..., T, A), with p_t broadcastable to (..., T)."""
    moebius = torch.tensor(lat.moebius, dtype=log_p.dtype, device=log_p.device)
    plus = (-log_p).unsqueeze(-2).expand_as(log_pt)
    minus = _safe_log2(p_t).unsqueeze(-1) - log_pt
    return PointwiseTerms(
        atoms=(plus - minus) @ moebius.T,
        informative=plus @ moebius.T,
        misinformative=minus @ moebius.T,
    )


# ----------------------------------------------------------------------------- dense tables


def _groups(lat: Lattice, needed: Sequence[bool] | None = None, merged: bool = False):
    """Each union group as (union mask, antichains, subset indices, inclusion-exclusion terms
    (A_g, V)), restricted to the ``needed`` antichains (a goal rarely needs all of them):
    groups and marginals that only other antichains use are skipped; the union's own marginal
    is always kept (it weights the points). ``merged``: one group, every needed antichain
    evaluated at the cells of all sources (the same averages: each antichain's terms depend
    on its own union's cells only, and p(s, t)-weighted sums over finer cells marginalise).
    Planned once per goal (a training step asks for it every time)."""
    return _group_plan(lat, None if needed is None else tuple(bool(x) for x in needed), merged)


@functools.cache
def _group_plan(lat: Lattice, needed: tuple[bool, ...] | None, merged: bool):
    groups = lat.union_groups
    if merged:
        full = 2**lat.n_sources - 1
        groups = [(full, tuple(a for _, ants, _ in groups for a in ants), tuple(range(full)))]
    plan = []
    for union, antichains, cols in groups:
        if needed is not None:
            antichains = tuple(a for a in antichains if needed[a])
            if not antichains:
                continue
        used = lat.union_terms[list(antichains)][:, list(cols)].any(0)
        cols = [c for c, u in zip(cols, used, strict=True) if u or c == union - 1]
        terms = lat.union_terms[list(antichains)][:, cols]
        terms.flags.writeable = False
        plan.append((union, antichains, cols, terms))
    return tuple(plan)


@functools.cache
def _terms_tensor(terms: bytes, shape: tuple[int, ...], dtype: torch.dtype,
                  device: torch.device) -> Tensor:
    """A group's (A_g, V) terms as a tensor, made once per dtype and device (never written)."""
    return torch.frombuffer(bytearray(terms), dtype=torch.int64).reshape(shape).to(
        dtype=dtype, device=device)


def _terms(terms, like: Tensor) -> Tensor:
    return _terms_tensor(terms.tobytes(), terms.shape, like.dtype, like.device)


def _merged(needed: Sequence[bool] | None) -> bool:
    """Whether the antichains are evaluated as one group: a goal's are (``needed`` given),
    a full decomposition's are not (see ``_MERGE_GOALS``)."""
    return _MERGE_GOALS and needed is not None


_MERGE_GOALS = True
"""A goal's antichains (training's loss) are evaluated as one group at the cells of all
sources: fewer bookkeeping passes (cell ids, compactions and gathers of each union) outweigh
the larger kernel. Session 9 A/B, 100 neurons x 1024 samples, loss forward and backward: the
18-atom optimized goal 0.75x on a trained MNIST layer's batches (45 cells a neuron), 0.82x
layer-like (367), 0.87-1.02x on synthetic spreads of 74-754 cells, 0.95x uniform (962);
earlier sessions' engine had measured 1.00x / 1.18x for it and merged only goals of at most
4 groups (Pi{F}{C} 0.81x / 0.96x, the 4-term goal 0.89x / 0.94x). Full decompositions
(analysis: float64, every antichain, no gradient) stay grouped: merged they took 1.03-1.27x."""


_COMPACT_BELOW = 0.4
"""A union's grid is compacted to its occupied cells when fewer than this fraction are:
compaction costs gathers and a scattered per-row sum, so half-empty grids run faster whole
(measured on 20 x 20 x 2 tables from 2048 samples)."""


def _dense_points(
    by_t: Tensor, lat: Lattice, compact: bool = False, needed: Sequence[bool] | None = None,
    merged: bool = False,
) -> Iterator[tuple[_Points, torch.Size]]:
    """Every cell of each union's grid is a point. ``by_t`` (T, R, k_1..k_n): the joint table
    target-major (see :func:`_target_major`); also yields the union's grid shape (k_i on the
    union's axes, 1 elsewhere). Whole grids come in blocks of rows (``_Points.first_row``).
    With ``compact``, cells of probability 0 are dropped when fewer than ``_COMPACT_BELOW`` of
    a union's cells are occupied (empty cells add nothing to the averages; they do carry
    gradient, so callers only compact tables that need none). ``needed`` and ``merged`` as
    :func:`_groups`."""
    n = lat.n_sources
    t_size, rows = by_t.shape[:2]
    tables = []
    for mask in range(1, 2**n):
        drop = [i + 2 for i in range(n) if not (mask >> i) & 1]
        tables.append(by_t.sum(dim=drop, keepdim=True) if drop else by_t)
    for union, antichains, cols, terms in _groups(lat, needed, merged):
        shape = tables[union - 1].shape  # (T, R, *grid)
        cells = None
        if compact:
            occupied = tables[union - 1].sum(0).reshape(-1) > 0  # (R * |grid_U|,)
            if int(occupied.sum()) < _COMPACT_BELOW * occupied.numel():
                cells = occupied.nonzero().squeeze(1)
        terms = _terms(terms, by_t)
        if cells is None:
            per_row = math.prod(shape[2:])
            # Blocks of rows whose (V, T, rows, grid) copy stays in cache (a 20^3 x 2 table
            # needs ~0.9 MB for V = 7): 64 tables at once copied at 345 us a table, 9 at 31.
            step = max(1, _CHUNK_ELEMENTS // (len(cols) * t_size * per_row))
            for first in range(0, rows, step):
                block = (t_size, min(step, rows - first), *shape[2:])
                marg_t = torch.stack([tables[v][:, first:first + step].expand(block)
                                      for v in cols]).view(len(cols), t_size, -1)  # one copy
                row = torch.arange(first, first + block[1], device=by_t.device)
                yield _Points(antichains, marg_t, marg_t[cols.index(union - 1)],
                              row.repeat_interleave(per_row), terms, per_row, first), shape[2:]
        else:
            # Gather each marginal at the occupied cells only: no (V, T, R * |grid|) copy.
            coords = torch.unravel_index(cells, shape[1:])
            marg_t = torch.stack([
                tables[v].reshape(t_size, -1).index_select(1, _ravel(coords, tables[v].shape[1:]))
                for v in cols
            ])  # (V, T, P)
            yield _Points(antichains, marg_t, marg_t[cols.index(union - 1)], coords[0],
                          terms), shape[2:]


def _ravel(coords: tuple[Tensor, ...], shape: Sequence[int]) -> Tensor:
    """Row-major flat index into a grid of ``shape`` of cells given by one coordinate tensor
    per axis; axes of size 1 are skipped (their coordinate may lie on a larger grid)."""
    flat = None
    for coord, size in zip(coords, shape, strict=True):
        if size > 1:  # coord + size * flat in one pass (flat * size + coord takes two)
            flat = coord if flat is None else torch.add(coord, flat, alpha=size)
    return torch.zeros_like(coords[0]) if flat is None else flat


def _target_major(pmf: Tensor) -> Tensor:
    """(R, k_1..k_n, T) -> (T, R, k_1..k_n), contiguous. torch reduces a (..., k, T=2) table
    over k or T up to 10x slower than the same table laid out (T, ..., k) (measured), and the
    points want (T, P) anyway."""
    return pmf.movedim(-1, 0).contiguous()


def _flatten_pmf(pmf: Tensor, n_sources: int) -> tuple[torch.Size, Tensor]:
    if pmf.dim() < n_sources + 1:
        raise ValueError(f"a table of {n_sources} sources needs >= {n_sources + 1} axes")
    batch = pmf.shape[: pmf.dim() - n_sources - 1]
    return batch, pmf.reshape(math.prod(batch), *pmf.shape[len(batch) :])


def pid_from_pmf(pmf: Tensor, n_sources: int, threads: bool = True) -> PIDTerms:
    """I^sx decomposition of a normalised joint table.

    Shape: ``pmf`` (*batch, k_1, ..., k_n, T), entries >= 0 summing to 1 over the last n + 1
    axes. Returns :class:`PIDTerms` in bits with atoms in ``lattice(n).antichains`` order.
    ``threads`` as :func:`pid_from_samples`.
    """
    lat = lattice(n_sources)
    batch, flat = _flatten_pmf(pmf, n_sources)

    def rows(flat: Tensor) -> PIDTerms:
        entropy = _entropy(flat.sum(dim=tuple(range(1, n_sources + 1))))
        groups = (points for points, _ in _dense_points(_target_major(flat), lat,
                                                        not flat.requires_grad))
        return _finish(lat, *_averages(groups, flat.shape[0], entropy, len(lat)), entropy)

    terms = _by_rows(rows, flat) if threads else rows(flat)
    return PIDTerms(*(x.reshape((*batch, *x.shape[1:])) for x in terms))


def pointwise_from_pmf(pmf: Tensor, n_sources: int) -> PointwiseTerms:
    """Pointwise atoms of every realisation (s_1..s_n, t) of a normalised joint table.

    Shapes: ``pmf`` (*batch, k_1..k_n, T) -> fields (*batch, k_1..k_n, T, atom), in bits.
    Realisations with p(s, t) = 0 hold 0.
    """
    lat = lattice(n_sources)
    batch, flat = _flatten_pmf(pmf, n_sources)
    rows, full = flat.shape[0], flat.shape[1:-1]
    log_p = flat.new_zeros((rows, *full, len(lat)))
    log_pt = flat.new_zeros((*flat.shape, len(lat)))
    for g, grid in _dense_points(_target_major(flat), lat):
        lp, lpt = _union_logs(g.marg_t, g.terms)
        block = slice(g.first_row, g.first_row + lp.shape[0] // g.per_row)
        n = block.stop - block.start
        log_p[block, ..., g.antichains] = lp.reshape(n, *grid, -1).expand(n, *full, -1)
        log_pt[block, ..., g.antichains] = lpt.reshape(n, *grid, -1, lpt.shape[-1]).expand(
            n, *full, lpt.shape[-2], -1
        )
    p_t = flat.sum(dim=tuple(range(1, n_sources + 1)))
    terms = _pointwise(lat, log_p, log_pt, p_t.reshape(rows, *[1] * len(full), -1))
    occupied = (flat > 0).unsqueeze(-1)
    return PointwiseTerms(
        *(torch.where(occupied, x, 0.0).reshape((*batch, *x.shape[1:])) for x in terms)
    )
