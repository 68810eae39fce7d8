"""Import fpdf2 without the parts a medmassage PDF never uses (SPEC §9: `summary` → PDF ≤ 0.6 s).

Importing fpdf2 pulls in, at module level, code for features the documents do not use: PDF
signing (`fpdf.sign`, which imports unittest.mock and with it asyncio; fpdf.py also tries
`cryptography`'s pkcs12 and endesive), variable fonts (`fontTools.varLib.instancer`, with the
whole of varLib and designspaceLib) and raster images (Pillow, numpy). Together about 0.1 s of
the ~0.2 s import, on every PDF.

`lean_fpdf_import()` is the context the import runs in: for its duration the optional packages
fpdf2 guards with `try: import … except ImportError` (Pillow, cryptography, endesive, numpy,
uharfbuzz) read as absent, and the two unguarded modules are replaced by stand-ins whose use
fails loudly (a signed PDF or a variable font would be a programming error here). Afterwards
everything is as before: the stand-ins and blocks are taken out of `sys.modules`, so a later
`import PIL` or `import fontTools.varLib` anywhere in the process gets the real module. Only
modules not already imported are blocked: if Pillow is loaded already, fpdf2 sees it.
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

# Optional dependencies fpdf2 imports inside try/except ImportError (absent → feature off).
_OPTIONAL = ("PIL", "cryptography", "endesive", "numpy", "uharfbuzz")


class _Unused:
    """Any attribute of a stand-in: calling it means the feature was used after all."""

    def __init__(self, module: str, name: str) -> None:
        self._where = f"{module}.{name}"

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{self._where} is not loaded by medmassage (documents/fpdf_lean.py)")


class _SignatureStandIn:
    """fpdf.output tests `isinstance(value, Signature)`: nothing is ever one."""


def _stand_in(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name, "stand-in while fpdf2 is imported (medmassage fpdf_lean)")

    def missing(attr: str) -> object:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Unused(name, attr)

    module.__getattr__ = missing  # type: ignore[method-assign]
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


@contextmanager
def lean_fpdf_import() -> Iterator[None]:
    if "fpdf" in sys.modules:  # imported already (a test process): nothing to save
        yield
        return
    import importlib.util

    # A package still, so its light submodules (varStore, used by colour fonts) import as usual.
    spec = importlib.util.find_spec("fontTools.varLib")
    varlib = _stand_in("fontTools.varLib")
    varlib.__path__ = list(spec.submodule_search_locations or []) if spec else []
    instancer = _stand_in("fontTools.varLib.instancer")
    varlib.instancer = instancer  # type: ignore[attr-defined]
    placed: dict[str, types.ModuleType | None] = {
        "fontTools.varLib": varlib,
        "fontTools.varLib.instancer": instancer,
        "fpdf.sign": _stand_in("fpdf.sign", Signature=_SignatureStandIn),
    }
    for name in _OPTIONAL:
        placed[name] = None  # sys.modules[name] = None: `import name` raises ImportError
    placed = {k: v for k, v in placed.items() if k not in sys.modules}
    sys.modules.update(placed)
    try:
        with warnings.catch_warnings():
            # "Pillow could not be imported - fpdf2 will not be able to add any image": true,
            # and the documents add none.
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        for name, module in placed.items():
            if sys.modules.get(name, False) is module:
                del sys.modules[name]
        fpdf = sys.modules.get("fpdf")
        if fpdf is not None and getattr(fpdf, "sign", None) is placed.get("fpdf.sign"):
            del fpdf.sign  # `import fpdf.sign` later loads the real module
