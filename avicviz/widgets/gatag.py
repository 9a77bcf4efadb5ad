"""Explorers for notebook 2: the GATag, what a truncated tag wakes, and the VM-ID allocator."""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..gatag import aliases, encode
from ..layouts import gatag_layout
from ..releases import release, release_ranges as releases
from ..vmid import VMIDAllocator
from ..plots._style import text_colour
from ..plots.gatag import (
    alias_span,
    aliasing_chart,
    story_lines,
    update_aliasing_chart,
    update_vmid_chart,
    vmid_chart,
)
from ..plots.tables import SwitchableBitField
from ._base import Explorer
from .controls import freeze_layout, kernel_dropdown, slider

__all__ = ["GATagExplorer", "AliasingExplorer", "VMIDExplorer"]


class GATagExplorer(Explorer):
    """Encode a VM ID and a vCPU into a GATag on a release, and decode it as KVM's GA-log
    handler does.  On v6.0..v6.2 vCPU 300 comes back as vCPU 44 (bit 8 is dropped).

    The figure shows the tag's bits; the decode story (what KVM encodes, the tag, what the
    GA-log handler decodes, the verdict) is the text under it.
    """

    figsize = (10.0, 2.1)
    title = "GATag"

    def _make_controls(self):
        return {
            "kernel": kernel_dropdown("6.19"),
            "vm_id": W.BoundedIntText(value=1, min=0, max=0xFFFFFF, description="VM ID",
                                      layout=W.Layout(width="14em")),
            "vcpu": slider("vCPU", 300, 0, 4095),
        }

    def _draw(self):
        spec = self.figure.add_gridspec(1, 1)[0]
        layouts = list(dict.fromkeys(gatag_layout(r) for r in releases() if r.per_vm_id))
        self.bits = SwitchableBitField(self.figure, spec, layouts, {})
        freeze_layout(self.figure)
        self.dynamic = self.bits.texts()

    def _update(self):
        p = self.params
        if release(p["kernel"]).no_gatag_reason():  # v4.7, v4.8: not applicable, no made-up tag
            self.bits.show(None)  # no bits to show
            if self.bits.switched:
                self.relayout("no layout")
            self.model = None
            self.readout.value = "<b>not applicable:</b> " + html.escape(release(p["kernel"]).no_gatag_reason())
            return
        t = encode(p["vm_id"], p["vcpu"], p["kernel"])
        self.bits.show(gatag_layout(t.kernel), t.tag)
        if self.bits.switched:
            self.relayout(gatag_layout(t.kernel))
        self.model = t
        r = t.kernel
        *lines, verdict, colour = story_lines(t)
        story = "<br>".join(html.escape(x) for x in lines)
        self.readout.value = (
            f"<div style='font-family:monospace;white-space:pre-wrap'>{story}<br>"
            f"<b style='color:{text_colour(colour)}'>{html.escape(verdict)}</b></div>"
            f"<b>{r.name}</b> ({r.range_name}): {t.vcpu_field} in bits {t.vcpu_bits - 1}:0, vm_id in "
            f"bits 31:{t.vcpu_bits}. GATag <b>{t.tag_hex}</b> decodes to VM ID {t.decoded_vm_id}, "
            f"{t.vcpu_field} <b>{t.decoded_vcpu}</b>: " + ("lossless" if t.lossless else "<b>lossy</b>"))


class AliasingExplorer(Explorer):
    """For a VM of N vCPUs on a release: which vCPU a GA-log wakeup reaches for each target."""

    figsize = (9.0, 4.2)
    title = "GATag aliasing"

    def _make_controls(self):
        return {
            "kernel": kernel_dropdown("6.2"),
            "vcpus": slider("vCPUs", 512, 1, 4096),
        }

    #: The figure's fixed title: the release, the vCPU field and how many vCPUs are woken wrongly
    #: are in the readout (a changing title as wide as the figure was slow to draw and to send).
    chart_title = "Which vCPU a GA-log wakeup reaches, for each target vCPU (counts below)"

    def _draw(self):
        self.ax = self.figure.add_subplot()
        self.chart = aliasing_chart(aliases(4096, "6.2"), self.ax, title=self.chart_title)
        freeze_layout(self.figure)
        c = self.chart
        self.dynamic = [c.diagonal, c.woken, c.aliased]
        self._n = None

    def _update(self):
        p = self.params
        if release(p["kernel"]).no_gatag_reason():  # v4.7, v4.8: not applicable, no made-up tag
            self.model = None
            self.readout.value = "<b>not applicable:</b> " + html.escape(release(p["kernel"]).no_gatag_reason())
            return
        a = aliases(p["vcpus"], p["kernel"])
        update_aliasing_chart(self.chart, a, title=False)
        span = alias_span(p["vcpus"])
        if span != self._n:
            self.relayout(span)  # the axes follow the vCPU count in steps (alias_span)
            self._n = span
        self.model = a
        r = a.kernel
        bad = a.aliased_vcpus
        n = p["vcpus"]
        lines = [f"<b>{r.name}, {n} vCPU{'s' if n != 1 else ''}</b>: the GATag's vCPU field has {r.gatag_vcpu_bits} bits "
                 f"({r.gatag_vcpu_field}), so it tells apart {r.gatag_vcpu_mask + 1} vCPUs"]
        if bad:
            first = bad[0]
            lines.append(f"<b>{len(bad)} of {n} vCPUs aliased</b> ({len(bad)} vCPU{'s' if len(bad) != 1 else ''} "
                         f"woken wrongly): a device-interrupt wakeup for vCPU {first} reaches vCPU "
                         f"{a.wakes(first)}")
        else:
            lines.append(f"<b>no aliasing</b> (0 vCPUs woken wrongly): every one of the {n} vCPU"
                         f"{'s' if n != 1 else ''} is woken correctly")
        top = r.cpu_max_id("x2avic-ext")
        if n - 1 > top:
            if r.past_limit == "einval":
                lines.append(f"note: {r.name} refuses vCPU ids above {top} (KVM_CREATE_VCPU -EINVAL) "
                             "even on the best CPU, so such a VM would not start")
            else:
                lines.append(f"note: on {r.name} vCPU ids above {top} inhibit AVIC for the whole VM "
                             "(PHYSICAL_ID_TOO_BIG), so no device interrupt is posted at all")
        self.readout.value = "<br>".join(lines)


class VMIDExplorer(Explorer):
    """KVM's per-VM AVIC ID allocator: create VMs one after another and watch the IDs.

    ``long_lived`` VMs (IDs 1..k) were created long ago and are still alive.  With ``near_wrap``
    the counter has meanwhile come close to the top of the VM-ID field (``mask - 3``), as after a
    host has created millions of VMs.  The first ``destroyed`` of the new VMs are short-lived:
    each is destroyed right after its creation (its ID is free again; the counter is not rewound).
    """

    figsize = (9.0, 4.0)
    title = "VM IDs"
    #: The figure's fixed title: the release's VM-ID width and where the counter starts are the
    #: readout's first line (a title that changes is drawn again on every change: slow).
    chart_title = "VM IDs handed out, by creation order (the release's ID space and counter are below)"

    def _make_controls(self):
        return {
            "kernel": kernel_dropdown("6.19"),
            "created": slider("new VMs", 8, 1, 40),
            "destroyed": slider("short-lived", 0, 0, 40),
            "long_lived": slider("long-lived", 3, 0, 8),
            "near_wrap": W.Checkbox(value=True, description="counter near the top", indent=False),
        }

    def _draw(self):
        self.ax = self.figure.add_subplot()
        r = release("6.19")
        # one y axis for every release (up to the widest VM-ID field of them): a release
        # change moves the dashed line of its largest ID, not the axis
        self._top = max(x.gatag_vm_id_mask for x in releases() if not x.no_gatag_reason())
        self.chart = vmid_chart(self.ax, np.arange(1, 3), np.array([1, 2]), np.ones(2, bool),
                                np.array([], dtype=int), r.gatag_vm_id_mask, self.chart_title, self._top)
        freeze_layout(self.figure)
        c = self.chart
        self.dynamic = [c.ceiling, c.ceiling_label, c.live, c.dead, c.old, *c.labels]
        self._limits = None

    def _update(self):
        p = self.params
        if release(p["kernel"]).no_gatag_reason():  # v4.7, v4.8: not applicable, no made-up tag
            self.model = None
            self.readout.value = "<b>not applicable:</b> " + html.escape(release(p["kernel"]).no_gatag_reason())
            return
        r = release(p["kernel"])
        mask = r.gatag_vm_id_mask
        k = p["long_lived"]
        start = mask - 3 if p["near_wrap"] else k
        if r.vm_id_allocator == "bitmap":
            start = 0  # the first allocator (a bitmap, lowest free ID) has no counter to preset
        run = VMIDAllocator(r, next_vm_id=start, wrapped=False,
                            live=tuple(range(1, k + 1))).run(p["created"], min(p["destroyed"], p["created"]))
        alloc, ids, alive, skipped = run.state, list(run.ids), list(run.alive), list(run.skipped)
        n = len(ids)
        title = (f"{r.name}: {r.gatag_vm_id_bits}-bit VM IDs (1..{mask:,}); counter starts at "
                 f"{start:,}" + (", wrapped" if alloc.wrapped else ""))
        if r.vm_id_allocator == "bitmap":
            title = f"{r.name}: {r.gatag_vm_id_bits}-bit VM IDs (1..{mask:,}); bitmap: lowest free ID"
        update_vmid_chart(self.chart, np.arange(1, n + 1), np.array(ids), np.array(alive),
                          np.arange(1, k + 1), mask, self.chart_title, self._top)
        limits = (self.ax.get_xlim(), self.ax.get_ylim())
        if limits != self._limits:
            self.relayout(limits)  # the x axis moved (it follows the counts in steps)
            self._limits = limits
        self.model = alloc
        self.ids = ids
        self.skipped = skipped
        shown = ", ".join(f"{v:,}" for v in ids)
        lines = [f"<b>{html.escape(title)}</b>", f"new VMs got IDs: <b>{shown}</b>"]
        if skipped:
            lines.append("skipped: " + ", ".join(
                f"{v} ({'zero is never used' if v == 0 else 'still in use'})" for v in skipped))
        if r.vm_id_allocator == "bitmap":
            lines.append(f"{r.name} allocates from a bitmap: each new VM takes the lowest free ID and a "
                         f"destroyed VM's ID is reused at once (no counter, no wrap); live VMs: {len(alloc.live)}")
        else:
            lines.append(f"wrapped: <b>{'yes' if alloc.wrapped else 'no'}</b>; live VMs: {len(alloc.live)}; "
                         f"the counter is at {alloc.next_vm_id:,}")
        if not alloc.wrapped and r.vm_id_allocator != "bitmap":
            lines.append("before the first wrap KVM does not check whether an ID is in use")
        self.readout.value = "<br>".join(lines)
