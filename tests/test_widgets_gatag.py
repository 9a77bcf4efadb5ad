"""GATagExplorer, AliasingExplorer, VMIDExplorer: controls move the artists, never raise."""

import numpy as np
import pytest

from avicviz.widgets._base import plain_text

from avicviz.widgets.gatag import AliasingExplorer, GATagExplorer, VMIDExplorer
from avicviz.widgets.tables import KERNELS


@pytest.fixture(scope="module")
def tag():
    return GATagExplorer()


@pytest.fixture(scope="module")
def alias():
    return AliasingExplorer()


@pytest.fixture(scope="module")
def vmid():
    return VMIDExplorer()


def _bits(e):
    return e.bits.artists[e.bits.current]


def test_the_2023_bug_live(tag):
    tag.set(kernel="6.2", vm_id=1, vcpu=300)
    assert tag.model.decoded_vcpu == 44 and tag.model.tag_hex == "0x0000012C"
    assert _bits(tag).value_text.get_text() == "GATag = 0x0000012C"
    assert _bits(tag).values["vcpu_id"].get_text() == "0x2C"
    text = plain_text(tag.readout.value)
    assert "GA-log decode VM ID 1, vcpu_id 44" in text
    assert "LOSSY: bits above 7 were dropped: the wakeup for vcpu_id 300 reaches vcpu_id 44" in text
    assert "decodes to VM ID 1, vcpu_id 44: lossy" in plain_text(tag.readout.value)


def test_fixed_in_63_and_widened_in_619(tag):
    tag.set(kernel="6.3", vm_id=1, vcpu=300)
    assert _bits(tag).value_text.get_text() == "GATag = 0x0000032C"
    assert _bits(tag).layout["vcpu_id"].bits == "8:0"
    assert "lossless: the wakeup reaches vcpu_id 300" in plain_text(tag.readout.value)
    tag.set(kernel="6.19", vm_id=0xFFFFF, vcpu=4095)
    assert _bits(tag).value_text.get_text() == "GATag = 0xFFFFFFFF"
    assert _bits(tag).layout["vcpu_idx"].bits == "11:0"
    tag.set(kernel="6.17", vm_id=1, vcpu=511)
    assert _bits(tag).layout["vcpu_idx"].bits == "8:0"


@pytest.mark.parametrize("kernel", [KERNELS[0], "6.16", "6.3", "6.2", "5.18", "4.9"])
@pytest.mark.parametrize("vm_id,vcpu", [(0, 0), (1, 255), (1, 256), (7, 511), (0xFFFFFF, 4095), (12345, 2000)])
def test_every_control_extreme(tag, kernel, vm_id, vcpu):
    before = tag.updates
    tag.set(kernel=kernel, vm_id=vm_id, vcpu=vcpu)
    assert tag.updates == before + 1 and tag.error.value == ""
    t = tag.model
    assert _bits(tag).value_text.get_text() == f"GATag = {t.tag_hex}"
    assert f"GATag {t.tag_hex}" in plain_text(tag.readout.value)
    visible = [ax for ax in tag.bits.axes.values() if ax.get_visible()]
    assert len(visible) == 1


@pytest.mark.parametrize("kernel", [KERNELS[-1], "4.8"])
def test_no_gatag_before_per_vm_ids_is_not_applicable(tag, alias, kernel):
    # 4.7/4.8: AVIC without per-VM IDs (5ea11f2b31b8 came later): no made-up tag
    for e in (tag, alias):
        e.set(kernel=kernel)
        assert e.error.value == "" and e.model is None
        assert plain_text(e.readout.value).startswith("not applicable: kernel=v" + kernel + " has no GATag")
    tag.set(kernel="6.19")
    assert tag.model.tag_hex in tag.readout.value


def test_gatag_bad_input(tag):
    with pytest.raises(ValueError, match="vcpu=4096 is out of range"):
        tag.set(vcpu=4096)


# ---- aliasing ----------------------------------------------------------------------------

def test_aliasing_default_is_62_with_512(alias):
    alias.reset()
    assert "256 of 512 vCPUs aliased" in alias.readout.value
    y = np.asarray(alias.chart.woken.get_ydata())
    assert y[300] == 44 and y[255] == 255


@pytest.mark.parametrize("kernel", ["6.19", "6.17", "6.3", "6.2", "4.9"])
@pytest.mark.parametrize("vcpus", [1, 2, 256, 257, 300, 512, 513, 1024, 4095, 4096])
def test_aliasing_controls(alias, kernel, vcpus):
    alias.set(kernel=kernel, vcpus=vcpus)
    assert alias.error.value == ""
    x = np.asarray(alias.chart.woken.get_xdata())
    assert x.size == vcpus
    bits = {"6.19": 12, "6.17": 9, "6.3": 9, "6.2": 8, "4.9": 8}[kernel]
    expected_bad = max(0, vcpus - (1 << bits))
    bad = np.asarray(alias.chart.aliased.get_ydata(), float)
    assert int((~np.isnan(bad)).sum()) == expected_bad
    text = plain_text(alias.readout.value)
    assert text.startswith(f"{alias.model.kernel.name}, {vcpus} vCPU")
    assert f"({expected_bad} vCPU{'s' if expected_bad != 1 else ''} woken wrongly)" in text
    if expected_bad:
        assert f"{expected_bad} of {vcpus} vCPUs aliased" in text
    assert alias.chart.title.get_text() == alias.chart_title  # the figure's title stays put
    assert alias.ax.get_xlim()[1] >= vcpus - 1


# ---- VM IDs ------------------------------------------------------------------------------

def test_vmid_default_wraps_and_skips_live(vmid):
    vmid.reset()
    assert vmid.ids == [1048573, 1048574, 1048575, 4, 5, 6, 7, 8]
    assert vmid.skipped == [0, 1, 2, 3]
    assert "wrapped: yes" in plain_text(vmid.readout.value)
    assert list(vmid.chart.live.get_ydata()) == vmid.ids
    assert list(vmid.chart.old.get_ydata()) == [1, 2, 3]


def test_vmid_62_uses_24_bits(vmid):
    vmid.set(kernel="6.2", created=4, destroyed=0, long_lived=0, near_wrap=True)
    assert vmid.ids == [0xFFFFFD, 0xFFFFFE, 0xFFFFFF, 1]
    assert plain_text(vmid.readout.value).startswith("v6.2: 24-bit VM IDs (1..16,777,215); counter starts at 16,777,212, wrapped.")
    assert vmid.chart.title.get_text() == vmid.chart_title


def test_vmid_no_wrap(vmid):
    vmid.set(kernel="6.19", created=5, destroyed=0, long_lived=2, near_wrap=False)
    assert vmid.ids == [3, 4, 5, 6, 7]
    assert "wrapped: no" in plain_text(vmid.readout.value)


def test_vmid_short_lived_ids_are_not_reused_by_the_counter(vmid):
    vmid.set(kernel="6.19", created=6, destroyed=6, long_lived=0, near_wrap=False)
    assert vmid.ids == [1, 2, 3, 4, 5, 6]
    assert list(vmid.chart.dead.get_ydata()) == [1, 2, 3, 4, 5, 6]
    assert len(vmid.chart.live.get_ydata()) == 0


@pytest.mark.parametrize("created", [1, 20, 40])
@pytest.mark.parametrize("destroyed", [0, 10, 40])
@pytest.mark.parametrize("long_lived", [0, 8])
@pytest.mark.parametrize("near_wrap", [True, False])
def test_vmid_controls(vmid, created, destroyed, long_lived, near_wrap):
    vmid.set(kernel="6.3", created=created, destroyed=destroyed, long_lived=long_lived,
             near_wrap=near_wrap)
    assert vmid.error.value == ""
    assert len(vmid.ids) == created
    shown = len(vmid.chart.live.get_ydata()) + len(vmid.chart.dead.get_ydata())
    assert shown == created
    assert len(vmid.chart.dead.get_ydata()) == min(destroyed, created)
    assert 0 not in vmid.ids
    visible = [t.get_text() for t in vmid.chart.labels if t.get_visible()]
    ids = [f"{v:,}" for v in vmid.ids]
    if created <= 16:  # every ID written out
        assert visible == [str(i) for i in range(1, long_lived + 1)] + ids
    else:  # long-lived IDs, then both ends of every run of consecutive IDs
        runs = [i for i in range(created) if i in (0, created - 1)
                or vmid.ids[i] != vmid.ids[i - 1] + 1 or vmid.ids[i + 1] != vmid.ids[i] + 1]
        assert visible == [str(i) for i in range(1, long_lived + 1)] + [ids[i] for i in runs]
        assert len(runs) < created


def test_vmid_explorer_bitmap_era():
    # 4.9..4.13: the first allocator, a bitmap (5ea11f2b31b8): lowest free ID, freed IDs reused
    e = VMIDExplorer(kernel="4.9", created=5, destroyed=2, long_lived=3, near_wrap=True)
    assert e.error.value == "" and e.ids == [4, 4, 4, 5, 6] and e.skipped == []
    assert "lowest free ID" in e.readout.value and "wrapped" not in e.readout.value


def test_vmid_explorer_keeps_one_axis_for_every_release():
    """The y axis reaches the widest VM-ID field of any release (24 bits, up to 6.2); a release
    change moves only the dashed line of its largest ID and the points (no full redraw), and
    the labels of the topmost points stay inside the chart."""
    from avicviz.widgets._base import DPI
    e = VMIDExplorer(kernel="6.19")
    e.picture.send = lambda *a, **k: None
    e.picture._message(e.picture, {"type": "hello", "ratio": 1}, [])
    ticks = [t.get_text() for t in e.ax.get_yticklabels()]
    assert ticks[-2:] == ["1,048,576", "16,777,216"]
    for kernel, mask in (("6.2", 0xFFFFFF), ("6.3", 0x7FFFFF), ("6.19", 0xFFFFF)):
        e.picture._acked = e.picture.sent  # painted
        e.set(kernel=kernel)
        assert e.boxes is not None  # drawn in place
        assert [t.get_text() for t in e.ax.get_yticklabels()] == ticks
        assert list(e.chart.ceiling.get_ydata()) == [mask, mask]
        assert e.chart.ceiling_label.get_text() == f"largest VM ID: {mask:,} (0x{mask:X})"
        r = e.canvas.get_renderer()
        chart = e.ax.get_window_extent(r)
        tops = [t for t in e.chart.labels if t.get_visible() and t.xy[1] > 1000]
        assert tops and all(t.get_window_extent(r).y1 <= chart.y1 for t in tops), kernel
    assert e.figure.dpi == DPI
