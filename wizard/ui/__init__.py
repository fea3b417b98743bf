"""The setup wizard: the only package that imports PySide6.

``model`` and ``links`` are plain Python (no Qt) so their decisions can be
tested without a display; every other module here is Qt and stays at the edge.
"""
