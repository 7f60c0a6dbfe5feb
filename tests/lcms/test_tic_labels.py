"""The TIC labels of a crowded real LC-MS/MS run: none is raised off the figure (stop 33, attack33)."""
from __future__ import annotations

import copy

import pytest


@pytest.fixture(scope="module")
def pestmix_doc(pestmix_results):
    from nps_id.report.document import build_report

    return build_report(copy.deepcopy(pestmix_results))


def test_no_tic_label_of_the_pestmix_run_is_raised_off_the_figure(pestmix_doc):
    # 144 labels in 40 s: a label raised 8 times in search of a clear place went past the figure's
    # top and was cut away (15 of them, "#4 Fenamiphos" among them); a raise may not leave the
    # figure, so a label above its top is one drawn where it always was (4 or 7 pt over its marker)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from nps_id.report.pdf import A4_IN
    from nps_id.report.plots import tic_figure

    (chromatogram,) = pestmix_doc["chromatograms"]
    for width_in in (9.0, A4_IN[0]):
        fig = tic_figure(chromatogram, pestmix_doc["findings"], width_in=width_in)
        renderer = FigureCanvasAgg(fig).get_renderer()
        texts = fig.axes[0].texts
        assert len(texts) >= 100 and sum(t.xyann[1] > 7 for t in texts) >= 20  # crowded: many raised
        cut = [t.get_text() for t in texts if t.get_window_extent(renderer).y1 > fig.bbox.y1 + 0.5 and t.xyann[1] > 7]
        assert not cut, f"{width_in} in: raised off the figure: {cut}"


def _outline(text, renderer):
    """A label's own box as matplotlib lays it out (Text's extent: no leader line), rotated as drawn,
    0.5 px inside its edges (labels that only touch do not overlap)."""
    import numpy as np
    from matplotlib.path import Path
    from matplotlib.text import Text

    box = Text.get_window_extent(text, renderer)
    angle = np.deg2rad(text.get_rotation())
    text.set_rotation(0)
    flat = Text.get_window_extent(text, renderer)
    text.set_rotation(np.rad2deg(angle))
    rect = np.array([(.5, .5), (flat.width - .5, .5), (flat.width - .5, flat.height - .5), (.5, flat.height - .5)])
    turned = rect @ np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    return Path(turned - turned.min(axis=0) + (box.x0 + .5, box.y0 + .5)), box


def test_crowded_tic_labels_do_not_overlap_and_those_left_off_are_counted(pestmix_doc):
    # 144 labels in 40 s: ~100 pairs of labels printed over each other, and two long finding labels
    # ("#6 suspected new substance (group not determined)") ran off the figure's top (stop 34)
    import re
    from itertools import combinations

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from nps_id.report.pdf import A4_IN
    from nps_id.report.plots import tic_figure

    (chromatogram,) = pestmix_doc["chromatograms"]
    components = [c for c in chromatogram["components"] if c["rt_min"] is not None]
    for width_in in (9.0, A4_IN[0]):
        fig = tic_figure(chromatogram, pestmix_doc["findings"], width_in=width_in)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        texts = fig.axes[0].texts
        shapes = [_outline(t, renderer) for t in texts]
        overlapping = [(a.get_text(), b.get_text()) for (a, sa), (b, sb) in combinations(zip(texts, shapes), 2)
                       if sa[0].intersects_path(sb[0], filled=True)]
        # only a finding's number may still meet another label (it is never left off)
        assert len(overlapping) <= 3 and all(a.startswith("#") or b.startswith("#") for a, b in overlapping), \
            overlapping
        assert not [t.get_text() for t, s in zip(texts, shapes) if s[1].y1 > fig.bbox.y1 + 0.5]
        (note,) = [t.get_text() for t in fig.texts]
        left_off = int(re.search(r"(\d+) component labels? left off", note).group(1))
        drawn = sum(t.get_text().startswith("C") for t in texts)
        assert left_off >= 10 and drawn + left_off == sum(c.get("finding") is None for c in components), note
        assert len(texts) + left_off == len(components)
