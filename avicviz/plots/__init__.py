"""Pure plotting functions: ``(model objects, ax) -> artists``; no widgets, no global state.

Topic modules: :mod:`~avicviz.plots.bits` (any bit layout), :mod:`~avicviz.plots.tables`,
:mod:`~avicviz.plots.gatag`, :mod:`~avicviz.plots.past512`, :mod:`~avicviz.plots.device`,
:mod:`~avicviz.plots.overview`; :mod:`~avicviz.plots.gallery` collects static figures.
"""
