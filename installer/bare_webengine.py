"""The bench's baseline: the smallest PySide6 + QtWebEngine app, frozen without any trimming.

``bench/bench_bundle.py`` builds it with ``build.spec -- --bare`` so that the only difference
from the real bundle is the trimming (and the app's own code and dependencies). ``--self-test``
loads a page offscreen and exits, so the baseline can be timed the same way as the app.
"""

import sys

from PySide6.QtCore import QCoreApplication, Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication

QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
app = QApplication(sys.argv)

from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: E402  (after the QApplication)

view = QWebEngineView()
if "--self-test" in sys.argv:
    view.loadFinished.connect(lambda ok: app.exit(0 if ok else 1))
    QTimer.singleShot(30_000, lambda: app.exit(2))
view.setHtml("<h1>bare</h1>", QUrl("about:blank"))
view.show()
sys.exit(app.exec())
