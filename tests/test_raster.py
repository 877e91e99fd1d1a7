"""Matrices as one embedded image: colours on Vega's scale, block averages, a chart that
vl-convert draws."""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from inspector.charts import chart_bytes
from inspector.raster import block_mean, diverging_rgba, image_chart, png_data_url


def decode(url: str) -> np.ndarray:
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))


def test_colours_follow_vegas_reversed_redblue():
    rgba = diverging_rgba(np.array([-2.0, -1.0, 0.0, 1.0, 5.0, np.nan, 0.1]), 1.0)
    assert rgba[0].tolist() == rgba[1].tolist() == [0x05, 0x30, 0x61, 255]  # clamped low
    assert rgba[2].tolist() == [0xF7, 0xF7, 0xF7, 255]  # zero is white
    assert rgba[3].tolist() == rgba[4].tolist() == [0x67, 0x00, 0x1F, 255]  # red on top
    assert rgba[5, 3] == 0  # NaN is transparent
    # 0.1 is half way from the white anchor (0) to the next one (0.2): fddbc7
    expected = np.rint((np.array([0xF7, 0xF7, 0xF7]) + np.array([0xFD, 0xDB, 0xC7])) / 2)
    assert rgba[6, :3].tolist() == expected.tolist()


def test_block_mean_averages_and_keeps_partial_blocks():
    values = np.arange(7 * 4, dtype=float).reshape(7, 4)
    same, r, c = block_mean(values, 10, 10)
    assert same is values and (r, c) == (1, 1)
    out, r, c = block_mean(values, 3, 2)
    assert (r, c) == (3, 2) and out.shape == (3, 2)
    assert out[0, 0] == values[:3, :2].mean()
    assert out[2, 1] == values[6:, 2:].mean()  # the last block holds one row
    holes = values.copy()
    holes[:3, :2] = np.nan
    out, _, _ = block_mean(holes, 3, 2)
    assert np.isnan(out[0, 0]) and out[0, 1] == values[:3, 2:].mean()


def test_image_chart_holds_the_matrix_and_renders(tmp_path):
    values = np.array([[1.0, -1.0, 0.0], [np.nan, 0.5, -0.5]])
    chart = image_chart(values, 1.0, x_title="checkpoint", y_title="neuron",
                        legend_title="bits", width=120, height=80)
    spec = chart.to_dict()
    image = next(d for d in spec["datasets"].values() if "url" in d[0])[0]
    pixels = decode(image["url"])
    assert pixels.shape == (2, 3, 4)
    np.testing.assert_array_equal(pixels, diverging_rgba(values, 1.0))
    assert (image["x2"], image["y2"]) == (3, 2)
    for fmt, magic in (("svg", b"<svg"), ("png", b"\x89PNG"), ("pdf", b"%PDF")):
        assert chart_bytes(chart, fmt)[:200].find(magic) >= 0


def test_png_data_url_round_trip():
    rgba = np.random.default_rng(0).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    np.testing.assert_array_equal(decode(png_data_url(rgba)), rgba)


@pytest.mark.parametrize("limit", [1e-6, 3.0])
def test_colour_ends_scale_with_the_limit(limit):
    rgba = diverging_rgba(np.array([-limit, limit]), limit)
    assert rgba[0, :3].tolist() == [0x05, 0x30, 0x61] and rgba[1, :3].tolist() == [0x67, 0, 0x1F]
