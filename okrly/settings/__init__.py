"""Settings: ``base`` holds everything; ``dev``, ``test`` and ``production`` are small overlays."""
