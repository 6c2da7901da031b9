"""The official HM-World release's folder layouts, both ways.

``layout`` names the release's files and decodes its formats (``camera.json``,
``character.json``, mask colours); ``exporter`` writes our dataset in that
layout; ``importer`` reads a release folder into our clip folders.
"""

from __future__ import annotations

from hmworld.dataset.official_hmworld.exporter import export_hmworld
from hmworld.dataset.official_hmworld.importer import import_hmworld

__all__ = ["export_hmworld", "import_hmworld"]
