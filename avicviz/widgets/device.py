"""Explorer for notebook 04: follow one device interrupt through a GA-mode IRTE."""

from __future__ import annotations

import html

import ipywidgets as W

from ..gatag import encode
from ..iommu import deliver, make_irte
from ..plots.device import (device_path, summary, tag_arithmetic, update_device_path, verdict, words,
                            wrong_wakeup)
from ..plots._style import PALETTE, TEXT_COLOURS
from ..releases import release
from ._base import Explorer
from .controls import STYLE, freeze_layout, kernel_dropdown, row, slider

__all__ = ["DeviceInterruptExplorer"]

#: Fixed parts of the example IRTE: the guest's vector, the pCPU's host APIC ID, the backing page.
VECTOR = 0x41
HOST_APIC_ID = 6
BACKING_PAGE = 0x12345000
DEVICE_ID = 0x0100


class DeviceInterruptExplorer(Explorer):
    """Release, VM ID, vCPU, IsRun, GALogIntr, GuestMode -> what happens to a device interrupt.

    The VM has vCPUs 0..vcpu (ids = indexes), and the interrupt is meant for the last one.  KVM
    writes the GATag of (VM ID, vCPU) the way the chosen release does; the IOMMU either rings
    the doorbell (IsRun=1), or writes a GA log entry (IsRun=0, GALogIntr=1) that KVM decodes to
    pick a vCPU to wake, or only sets the IRR bit (IsRun=0, GALogIntr=0).
    """

    #: The sentences (verdict, tag arithmetic, hex words, settings) are in the HTML readout, so
    #: the figure is smaller than the notebook's static ones.
    figsize = (10.0, 7.0)

    def _make_controls(self):
        return {
            "kernel": kernel_dropdown("6.0"),
            "vm_id": W.BoundedIntText(value=1, min=1, max=0xFFFFFF, description="VM ID", style=STYLE,
                                      layout=W.Layout(width="12em")),
            "vcpu": slider("vCPU (id = index)", 300, 0, 4095),
            "is_run": W.Checkbox(value=False, description="IsRun (vCPU running)", indent=False),
            "ga_log_intr": W.Checkbox(value=True, description="GALogIntr", indent=False),
            "guest_mode": W.Checkbox(value=True, description="GuestMode (posting)", indent=False),
        }

    def _layout(self):
        c = self.controls
        rows = [row(c["kernel"], c["vm_id"], c["vcpu"], self.reset_button),
                row(c["guest_mode"], c["is_run"], c["ga_log_intr"])]
        return W.VBox(rows + [self.picture, self.error])

    def interrupt(self):
        """The :class:`avicviz.iommu.DeviceInterrupt` for the current settings."""
        p = self.params
        tag = encode(p["vm_id"], p["vcpu"], p["kernel"]).tag
        irte = make_irte(tag, VECTOR, destination=HOST_APIC_ID, backing_page=BACKING_PAGE,
                         is_run=p["is_run"], ga_log_intr=p["ga_log_intr"], guest_mode=p["guest_mode"])
        return deliver(irte, p["kernel"], vm_id=p["vm_id"], vcpu_ids=p["vcpu"] + 1,
                       intended_vcpu=p["vcpu"], device_id=DEVICE_ID)

    def notes(self) -> list[str]:
        """Caveats: settings that a real KVM of this release would never produce."""
        p = self.params
        r = release(p["kernel"])
        out = []
        top = r.cpu_max_id("x2avic-ext")
        if p["vcpu"] > top:
            fate = ("KVM_CREATE_VCPU fails" if r.past_limit == "einval"
                    else "AVIC is inhibited for the VM, so its IRTEs are not in guest mode")
            out.append(f"On {r.name} no CPU gives vCPU {p['vcpu']} a table entry (largest id 0x{top:X}): "
                       f"{fate}. The tag arithmetic is shown anyway.")
        if p["vm_id"] > r.gatag_vm_id_mask:
            out.append(f"KVM {r.name} never hands out VM ID {p['vm_id']}: its VM IDs stop at "
                       f"0x{r.gatag_vm_id_mask:X} ({r.gatag_vm_id_bits} bits).")
        return out

    def _draw(self):
        d = deliver(make_irte(0x32C, VECTOR), "6.3")
        self._arts = device_path(d, self.figure, all_digits=True, sentences=False)
        freeze_layout(self.figure)
        a = self._arts
        # only what an update can change.  Fixed: the IRTE's high half (vector, backing page
        # and destination are constants here), the panel headings, the bit-field labels and
        # cells, and the flow chart's labels, boxes and edges; a node taken or not changes only
        # the mark over its box (every path starts at the device and the IRTE lookup, whose
        # marks are fixed too), and a GA log entry not written only the veil over its cells.
        changing = []
        for bf in (a.irte_lo, a.log):
            changing += bf.digits.artists + list(bf.values.values())
        marks = [m for k, m in a.marks.items() if k not in ("device", "irte")]
        self.dynamic = ([a.tag_vm, a.tag_vcpu] + changing + [a.log_veil] + a.tag_digits.artists
                        + [a.tag_vm_label, a.tag_vcpu_label, a.tag_vm_value, a.tag_vcpu_value, a.log_note,
                           a.wake_detail] + marks)  # the wake node's line under its mark

    def _update(self):
        p = self.params
        if release(p["kernel"]).no_gatag_reason():  # v4.7, v4.8: not applicable, no made-up tag
            self.model = None
            self.readout.value = "<b>not applicable:</b> " + html.escape(release(p["kernel"]).no_gatag_reason())
            return
        d = self.interrupt()
        self.model = d
        notes = self.notes()
        update_device_path(self._arts, d)
        self.readout.value = readout(d, notes)


def readout(d, notes=()) -> str:
    """The HTML under the figure: the verdict (red when the wrong vCPU or nobody is woken), the
    settings, any caveats, the tag arithmetic, the steps, and the IRTE and GA log as hex words.
    The figure shows none of these sentences: they are cheaper here than re-rendered as text."""
    colour = TEXT_COLOURS["red"] if wrong_wakeup(d) else PALETTE["black"]
    steps = "".join(f"<li>{html.escape(s)}</li>" for s in d.steps)
    extra = "".join(f"<br><i>{html.escape(n)}</i>" for n in notes)
    hexes = "<br>".join(f"{html.escape(what)} = <code>{word}</code>" if word.startswith("0x")
                        else f"{html.escape(what)}: {html.escape(word)}" for what, word in words(d))
    return (f"<b style='color:{colour}'>{html.escape(verdict(d))}</b>"
            f"<br>{html.escape(summary(d))}{extra}"
            f"<br>GATag split: <code>{html.escape(tag_arithmetic(d))}</code>"
            f"<ol>{steps}</ol>{hexes}<br>IRTE = <code>{d.irte.hex}</code>")
