"""The TIC labels of a crowded real LC-MS/MS run: none is raised off the figure (stop 33, attack33)."""
from __future__ import annotations

import pytest

from tests.conftest import data_path
from tests.lcms.conftest import PESTMIX
from nps_id.match.pipeline import ReferenceLibrary, match_run


@pytest.fixture(scope="module")
def pestmix_doc(lcms_library):
    from nps_id.report.document import build_report

    return build_report(match_run(data_path(*PESTMIX), ReferenceLibrary(lcms_library)))


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
