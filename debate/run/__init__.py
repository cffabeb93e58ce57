"""Playing matches: the engine, `debate run`'s runner and the tournament.

Called, this package is the Python API's `debate.run(...)` (debate.api.run): `debate.run` names
both, and a call is the API's."""

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from debate.api import run

        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
