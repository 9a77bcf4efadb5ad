"""GATag plots: bit fields, splits, the decode story, aliasing, the trade-off, VM IDs."""

import numpy as np
import pytest

import avicviz as av
from avicviz.plots import gatag
from avicviz.plots._style import new_figure


def _ax():
    return new_figure().add_subplot()


def test_gatag_bits_of_the_2023_bug():
    arts = gatag.gatag_bits(av.encode(1, 300, "6.2"), _ax())
    assert arts.value_text.get_text() == "GATag = 0x0000012C"
    assert arts.values["vcpu_id"].get_text() == "0x2C"
    assert arts.values["vm_id"].get_text() == "0x000001"
    arts = gatag.gatag_bits(av.encode(1, 300, "6.19"), _ax())
    assert arts.values["vcpu_idx"].get_text() == "0x12C"
    assert arts.value_text.get_text() == "GATag = 0x0000112C"


def test_splits_chart_has_every_release_and_split():
    ax = _ax()
    arts = gatag.splits_chart(ax)
    widths = [p.get_width() for p in arts["vcpu"]]
    # ranges before per-VM AVIC IDs (v4.7, v4.8) have no GATag and no bar
    assert widths == [r.gatag_vcpu_bits for r in av.release_ranges() if r.per_vm_id]
    assert sorted(set(widths)) == [8, 9, 12]
    texts = " ".join(t.get_text() for t in arts["texts"])
    assert "16,777,215 VM IDs" in texts and "8,388,607 VM IDs" in texts and "1,048,575 VM IDs" in texts


def test_tag_story_lossy_and_lossless():
    arts = gatag.tag_story(av.encode(1, 300, "6.2"), _ax())
    assert "vcpu_id 44" in arts.decoded.get_text()
    assert "reaches vcpu_id 44" in arts.verdict.get_text()
    gatag.update_tag_story(arts, av.encode(1, 300, "6.3"))
    assert arts.tag.get_text().endswith("0x0000032C")
    assert arts.verdict.get_text().startswith("lossless")
    gatag.update_tag_story(arts, av.encode(1 << 20, 5, "6.19"))
    assert "does not fit 20 bits" in arts.verdict.get_text()


def test_aliasing_chart_marks_aliased_vcpus():
    ax = _ax()
    arts = gatag.aliasing_chart(av.aliases(300, "6.2"), ax)
    y = np.asarray(arts.woken.get_ydata())
    bad = np.asarray(arts.aliased.get_ydata())
    assert y[300 - 1] == 43 and y[255] == 255
    assert np.isnan(bad[:256]).all() and bad[256] == 0
    assert "44 vCPUs woken wrongly" in arts.title.get_text()
    gatag.update_aliasing_chart(arts, av.aliases(4096, "6.19"))
    assert np.isnan(np.asarray(arts.aliased.get_ydata(), float)).all()
    assert len(arts.woken.get_xdata()) == 4096
    assert ax.get_xlim()[1] > 4095
    gatag.update_aliasing_chart(arts, av.aliases(1, "6.2"))
    assert list(arts.woken.get_ydata()) == [0.0]


def test_tradeoff_chart_numbers():
    arts = gatag.tradeoff_chart(_ax(), kernel="6.3")
    bits = list(arts["vms"].get_xdata())
    vms = dict(zip(bits, arts["vms"].get_ydata()))
    assert vms[8] == 16777215 and vms[9] == 8388607 and vms[12] == 1048575
    assert list(arts["marker"].get_xdata()) == [9, 9]


def test_vmid_chart_updates_points_and_labels():
    ax = _ax()
    arts = gatag.vmid_chart(ax, np.arange(1, 4), np.array([5, 6, 7]), np.array([True, False, True]),
                            np.array([1, 2]), 0xFFFFF, "t")
    assert list(arts.live.get_ydata()) == [5, 7] and list(arts.dead.get_ydata()) == [6]
    assert list(arts.old.get_xdata()) == [-2, -1]
    assert [t.get_text() for t in arts.labels if t.get_visible()] == ["1", "2", "5", "6", "7"]
    gatag.update_vmid_chart(arts, np.arange(1, 2), np.array([1048575]), np.array([True]),
                            np.array([]), 0xFFFFF, "u")
    assert [t.get_text() for t in arts.labels if t.get_visible()] == ["1,048,575"]
    assert arts.title.get_text() == "u"


def test_vmid_chart_top_is_at_least_the_largest_id():
    arts = gatag.vmid_chart(_ax(), np.arange(1, 2), np.array([3]), np.array([True]), np.array([]), 0xFFFFF,
                            top=0xFFFFFF)
    assert [int(v) for v in arts.ax.get_yticks()] == [0, 16, 256, 4096, 65536, 1048576, 16777216]
    with pytest.raises(ValueError, match="top=1000 is below the release's largest VM ID 1048575"):
        gatag.update_vmid_chart(arts, np.arange(1, 2), np.array([3]), np.array([True]), np.array([]),
                                0xFFFFF, top=1000)


def test_static_figures_include_the_readme_one():
    figs = gatag.static_figures()
    assert {"gatag_releases", "gatag_aliasing_62", "gatag_tradeoff", "gatag_splits", "vmid_wrap"} <= set(figs)
    fig = figs["gatag_releases"][0]()
    assert len(fig.axes) == 3
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert "decoded vCPU 44" in titles[0] and "decoded vCPU 300" in titles[1]
