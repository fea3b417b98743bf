"""PyInstaller run-time hook for PySide6 that does not import Qt at start-up.

It replaces PyInstaller's own ``pyi_rth_pyside6`` (a ``rthooks.dat`` in a ``hookspath``
folder takes precedence over the built-in entry for the same module; see
``PyInstaller.depend.analysis``). The built-in hook imports ``PySide6.QtCore`` on every start
to register a fallback ``qt.conf``, which costs ~170 ms and loads Qt and ICU even for
``amocrm-wizard --version`` and the headless commands, which the CLI is careful never to do.

This hook sets the same environment (plugin and QML paths, ``PATH`` on Windows,
``DYLD_LIBRARY_PATH`` for a macOS onedir build) and defers the fallback ``qt.conf`` until
``PySide6.QtCore`` is first imported. PyPI wheels register their own ``qt.conf`` relative to the
package anyway, which makes the fallback a no-op for them.
"""


def _pyi_rthook():
    import importlib.abc
    import importlib.util
    import os
    import sys

    from _pyi_rth_utils import is_macos_app_bundle, prepend_path_to_environment_variable
    from _pyi_rth_utils import qt as qt_rth_utils

    qt_rth_utils.ensure_single_qt_bindings_package("PySide6")

    if sys.platform.startswith("win"):
        qt_path = os.path.join(sys._MEIPASS, "PySide6")
    else:
        qt_path = os.path.join(sys._MEIPASS, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt_path, "plugins")
    if is_macos_app_bundle:
        resources = os.path.normpath(
            os.path.join(sys._MEIPASS, "..", "Resources", os.path.relpath(qt_path, sys._MEIPASS))
        )
        qml = [os.path.join(resources, "qml"), os.path.join(qt_path, "qml")]
        os.environ["QML2_IMPORT_PATH"] = os.pathsep.join(qml)
    else:
        os.environ["QML2_IMPORT_PATH"] = os.path.join(qt_path, "qml")
    if sys.platform.startswith("win"):
        prepend_path_to_environment_variable(sys._MEIPASS, "PATH")  # OpenSSL DLLs for QtNetwork
    if sys.platform == "darwin" and not is_macos_app_bundle:
        prepend_path_to_environment_variable(sys._MEIPASS, "DYLD_LIBRARY_PATH")

    class _AfterQtCore(importlib.abc.MetaPathFinder):
        """Runs the qt.conf fallback right after PySide6.QtCore has loaded, once."""

        def find_spec(self, name, path=None, target=None):
            if name != "PySide6.QtCore":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_then_configure(module):
                exec_module(module)
                qt_rth_utils.create_embedded_qt_conf("PySide6", qt_path)

            spec.loader.exec_module = exec_then_configure
            return spec

    sys.meta_path.insert(0, _AfterQtCore())


_pyi_rthook()
del _pyi_rthook
