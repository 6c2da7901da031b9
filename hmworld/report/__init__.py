"""Static HTML report of a dataset (`hmworld report`) and the one-clip preview video (`hmworld preview --video`).

Reads downstream of the whole flow (dataset tables, clip folders, events,
shot, geometry, video); nothing upstream imports it.
"""

from __future__ import annotations

from hmworld.report.site import ReportSummary, build_report, parse_clips

__all__ = ["ReportSummary", "build_report", "parse_clips"]
