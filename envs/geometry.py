"""Vectorized 2-D geometry on points and line segments (numpy only).

Segments are rows ``(x0, y0, x1, y1)``. Used by the BallNav layouts (free-space
tests, straight-line crossing test, visibility-graph shortest paths) and by the
Push-T scripted pusher.
"""

from __future__ import annotations

import numpy as np


def point_segment_distance(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Euclidean distance from every point to every segment.

    Args:
        points: ``(..., 2)`` points.
        segments: ``(W, 4)`` segments ``(x0, y0, x1, y1)``.

    Returns:
        ``(..., W)`` distances.
    """
    p = np.asarray(points, dtype=np.float64)[..., None, :]  # (..., 1, 2)
    seg = np.asarray(segments, dtype=np.float64)
    a = seg[:, :2]
    ab = seg[:, 2:] - a  # (W, 2)
    denom = np.maximum(np.einsum("wi,wi->w", ab, ab), 1e-300)
    t = np.clip(np.einsum("...wi,wi->...w", p - a, ab) / denom, 0.0, 1.0)
    closest = a + t[..., None] * ab
    return np.linalg.norm(p - closest, axis=-1)


def _cross(
    ox: np.ndarray, oy: np.ndarray, ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray
) -> np.ndarray:
    """z-component of (a - o) x (b - o), broadcast."""
    return (ax - ox) * (by - oy) - (ay - oy) * (bx - ox)


def segments_intersect(seg_a: np.ndarray, seg_b: np.ndarray) -> np.ndarray:
    """Whether segments cross (proper crossings and touching both count).

    Args:
        seg_a: ``(N, 4)`` segments.
        seg_b: ``(W, 4)`` segments.

    Returns:
        ``(N, W)`` booleans.
    """
    a = np.asarray(seg_a, dtype=np.float64)[:, None, :]
    b = np.asarray(seg_b, dtype=np.float64)[None, :, :]
    ax0, ay0, ax1, ay1 = (a[..., i] for i in range(4))
    bx0, by0, bx1, by1 = (b[..., i] for i in range(4))
    d1 = _cross(bx0, by0, bx1, by1, ax0, ay0)
    d2 = _cross(bx0, by0, bx1, by1, ax1, ay1)
    d3 = _cross(ax0, ay0, ax1, ay1, bx0, by0)
    d4 = _cross(ax0, ay0, ax1, ay1, bx1, by1)
    general = (d1 * d2 <= 0) & (d3 * d4 <= 0)
    collinear = (d1 == 0) & (d2 == 0) & (d3 == 0) & (d4 == 0)
    boxes_overlap = (
        (np.maximum(ax0, ax1) >= np.minimum(bx0, bx1))
        & (np.maximum(bx0, bx1) >= np.minimum(ax0, ax1))
        & (np.maximum(ay0, ay1) >= np.minimum(by0, by1))
        & (np.maximum(by0, by1) >= np.minimum(ay0, ay1))
    )
    return np.where(collinear, boxes_overlap, general)


def segment_segment_distance(seg_a: np.ndarray, seg_b: np.ndarray) -> np.ndarray:
    """Minimum distance between every segment of ``seg_a`` and every one of ``seg_b``.

    Args:
        seg_a: ``(N, 4)`` segments (zero-length ones are points).
        seg_b: ``(W, 4)`` segments.

    Returns:
        ``(N, W)`` distances, 0 where they intersect.
    """
    a = np.asarray(seg_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(seg_b, dtype=np.float64).reshape(-1, 4)
    d = np.minimum(
        np.minimum(point_segment_distance(a[:, :2], b), point_segment_distance(a[:, 2:], b)),
        np.minimum(point_segment_distance(b[:, :2], a), point_segment_distance(b[:, 2:], a)).T,
    )
    return np.where(segments_intersect(a, b), 0.0, d)
