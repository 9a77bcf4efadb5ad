"""Pieces the explorers share: release pickers, choice controls, rows that wrap, the layout freeze.

Every explorer builds its controls from here, so a release picker or a row behaves the same in
all of them.
"""

from __future__ import annotations

import ipywidgets as W
import traitlets as T

from ..releases import AVIC_PARAMS, CPU_KINDS, GUEST_APIC_MODES, mainline_releases, release

__all__ = ["KERNELS", "STYLE", "kernel_dropdown", "cpu_dropdown", "guest_dropdown", "avic_dropdown", "kvm_max_dropdown", "kvm_max_vcpus", "row",
           "slider", "Slider", "freeze_layout"]

#: Style of controls whose description is longer than ipywidgets' default label width.
STYLE = {"description_width": "initial"}


#: Release choices of every explorer, newest first ("6.19", "6.18", ..., "4.7").
KERNELS = tuple(reversed(mainline_releases()))


def kernel_dropdown(default: str = "6.19") -> W.Dropdown:
    """The release picker shared by the explorers: every mainline release, newest first."""
    return W.Dropdown(options=list(KERNELS), value=default, description="Linux", style=STYLE,
                      layout=W.Layout(width="9.5em"))


def cpu_dropdown(default: str = "x2avic") -> W.Dropdown:
    """The host CPU's AVIC capability."""
    return W.Dropdown(options=list(CPU_KINDS), value=default, description="CPU", style=STYLE,
                      layout=W.Layout(width="12em"))


def guest_dropdown(default: str = "x2apic") -> W.Dropdown:
    """The APIC mode the guest runs in."""
    return W.Dropdown(options=list(GUEST_APIC_MODES), value=default, description="guest APIC",
                      style=STYLE, layout=W.Layout(width="13em"))


def avic_dropdown(default: str = "on") -> W.Dropdown:
    """kvm_amd's ``avic`` module parameter: on (avic=1, what the lessons assume), off (avic=0),
    or the release's own default on this CPU (off up to 6.17; from 6.18 on with x2AVIC)."""
    labels = {"on": "avic=1", "off": "avic=0", "default": "release default"}
    return W.Dropdown(options=[(labels[v], v) for v in AVIC_PARAMS], value=default,
                      description="kvm_amd", style=STYLE, layout=W.Layout(width="14em"),
                      tooltip="kvm_amd's avic module parameter")


def kvm_max_dropdown(default: str = "default") -> W.Dropdown:
    """KVM_MAX_VCPUS, a build-time setting: the release's default configuration, or the largest
    the release can be built with (CONFIG_KVM_MAX_NR_VCPUS=4096 from 6.7)."""
    return W.Dropdown(options=[("release default", "default"), ("largest allowed", "max")],
                      value=default, description="KVM_MAX_VCPUS", style=STYLE,
                      layout=W.Layout(width="19em"))


def kvm_max_vcpus(choice: str, kernel) -> int | None:
    """The ``kvm_max_vcpus`` argument of :func:`avicviz.simulate` for a KVM_MAX_VCPUS choice.

    >>> kvm_max_vcpus("default", "6.19"), kvm_max_vcpus("max", "6.19"), kvm_max_vcpus("max", "6.3")
    (None, 4096, 1024)
    """
    return None if choice == "default" else release(kernel).kvm_max_vcpus_configurable_max


class Slider(W.IntSlider):
    """ipywidgets' IntSlider whose new values are not echoed back to the page.

    ipywidgets 8 answers every value the page sends with an ``echo_update`` message carrying the
    same value, for other pages that show the same widget.  During a drag the page that sent the
    value ignores it, and each one costs the kernel, the server and the page a message (an
    explorer's whole answer is three: "busy", the picture, "idle").  ipywidgets lets a trait
    opt out with the ``echo_update=False`` metadata (as its FileUpload does).  The cost: a second
    browser tab on the same kernel does not see this slider move.
    """

    value = T.CInt(0, help="Int value").tag(sync=True, echo_update=False)


def slider(description: str, value: int, lo: int, hi: int, step: int = 1,
           width: str = "24em") -> W.IntSlider:
    """An integer slider that follows a drag (continuous updates: the explorer drops values it
    cannot draw in time and always draws the last one).

    >>> s = slider("vCPU", 3, 0, 511); (s.value, s.min, s.max, s.continuous_update)
    (3, 0, 511, True)
    """
    return Slider(value=value, min=lo, max=hi, step=step, description=description,
                       style=STYLE, layout=W.Layout(width=width, max_width="100%"))


def row(*children: W.Widget) -> W.HBox:
    """Controls side by side, wrapping onto the next line when the output area is narrow."""
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", max_width="100%"))


def freeze_layout(figure) -> None:
    """Run the constrained layout once, then keep the axes where it put them: updates then skip
    the layout pass (about a third of a redraw)."""
    engine = figure.get_layout_engine()
    if engine is not None and engine.__class__.__name__ != "PlaceHolderLayoutEngine":
        engine.execute(figure)  # lays out without drawing
    figure.set_layout_engine("none")
