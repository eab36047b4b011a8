"""Videos: write, probe and sample frames from files, segments and frame folders (``clips``), and
load the clips a stage needs, keyed by (video, segment, fps) (``frames``)."""
