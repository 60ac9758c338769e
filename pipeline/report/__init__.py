"""`vgdata report`: numbers, plots and previews of a build on one static page."""

from pipeline.report.page import build_report

__all__ = ["build_report"]
