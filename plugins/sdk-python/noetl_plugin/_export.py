"""Glue between a `Tool` and the bindings componentize-py generates for the `handler`
export: JSON text in and out, the SDK's exceptions to the contract's `tool-error`.

The bindings exist only in a component build (or where a test generated them): the
author's own tests import the SDK without them, so the glue imports them inside the
calls. A component has only the modules imported while it was built (componentize-py
snapshots the interpreter then; there is no file system at run time), so `export`, which
runs at build time, imports them all first.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import traceback
from typing import Any

from . import CapabilityError, Context, InvalidConfig, Job, Outcome, Tool, ToolFailed

# The host's rule for a tool kind (host/src/plugin/mod.rs, validate_kind).
_KIND = re.compile(r"[a-z0-9_-]{1,63}")


def to_json_text(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ToolFailed(f"{what} is not JSON: {e}") from None


# What the glue and `capability` import inside calls.
_CALL_TIME_MODULES = ("componentize_py_types",) + tuple(
    f"{__package__}.bindings.{name}" for name in ("imports.types", "imports.log", "imports.fetch", "imports.http", "imports.files", "imports.kubernetes")
)


def preload_bindings() -> None:
    """Import the modules the calls need while the component is being built; outside a
    build (the author's native tests) there are none to import, and nothing is needed."""
    for name in _CALL_TIME_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            return


def handler_class(tool: type) -> type:
    """The class componentize-py instantiates for the `handler` export."""
    check_tool(tool)
    preload_bindings()
    instance = tool()

    class Handler:
        def describe(self):
            from .bindings.imports import types

            schema = to_json_text(tool.schema, f"{tool.__name__}.schema")
            return types.ToolInfo(tool.kind, tool.version, tool.description, schema)

        def plan(self, config: str, context: str):
            return guarded(tool.kind, lambda: plan_result(instance.plan(*arguments(config, context))))

        def finish(self, config: str, context: str, outcome):
            return guarded(tool.kind, lambda: response_text(instance.finish(*arguments(config, context), outcome_of(outcome))))

    Handler.__qualname__ = Handler.__name__ = f"Handler({tool.__name__})"
    return Handler


def check_tool(tool: type) -> None:
    """Fail the build (the module runs once at build time) on a tool the host would refuse."""
    if not (isinstance(tool, type) and issubclass(tool, Tool)):
        raise TypeError(f"export({tool!r}): pass a subclass of noetl_plugin.Tool")
    name = tool.__name__
    if not _KIND.fullmatch(tool.kind or ""):
        raise ValueError(f"{name}.kind = {tool.kind!r}: use 1-63 lowercase letters, digits, `-` or `_` (steps select the tool with `kind: ...`)")
    if not tool.version:
        raise ValueError(f"{name}.version is empty: give the plugin's own version, for example \"0.1.0\"")
    if tool.plan is Tool.plan:
        raise TypeError(f"{name} does not implement plan(self, config, context)")


def arguments(config: str, context: str):
    return parse(config, "config"), Context(parse(context, "context"))


def parse(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as e:
        raise ToolFailed(f"the host sent invalid JSON as the {what}: {e}") from None


def plan_result(result: Any):
    from .bindings.imports import types

    if isinstance(result, Job):
        manifests = [types.Manifest(m.kind, m.name, to_json_text(m.body, f"the body of manifest {m.name}")) for m in result.manifests]
        return types.PlanResult_RunJob(types.JobBundle(result.namespace, result.job_name, manifests, result.timeout_seconds))
    return types.PlanResult_Done(response_text(result))


def response_text(response: Any) -> str:
    if not isinstance(response, dict):
        raise ToolFailed(
            f"the tool returned {type(response).__name__}, not a response: return success(data) or error(message) (a dict with `status`)"
        )
    return to_json_text(response, "the response")


def outcome_of(outcome) -> Outcome:
    status = outcome.status.name.lower().replace("_", "-")
    fields = {name: getattr(outcome, name) for name in Outcome.__dataclass_fields__ if name != "status"}
    return Outcome(status=status, **fields)


def guarded(kind: str, call):
    """Run `call`, turning the SDK's exceptions into the contract's `tool-error`."""
    from componentize_py_types import Err

    try:
        return call()
    except Exception as e:
        raise Err(tool_error(kind, e)) from None


def tool_error(kind: str, e: Exception):
    from .bindings.imports import types

    if isinstance(e, InvalidConfig):
        return types.ToolError_InvalidConfig([types.FieldError(f.field, f.message, f.fix) for f in e.errors])
    if isinstance(e, CapabilityError):
        return types.ToolError_Capability(capability_variant(e.kind)(e.message))
    if isinstance(e, ToolFailed):
        return types.ToolError_Failed(str(e))
    # A bug in the plugin: say what and where first, as a Rust panic would, then the
    # traceback (the host shows a returned error as it is; the plugin's stderr only with faults).
    frame = where(e)
    message = f"{type(e).__name__}: {e} (at {os.path.basename(frame.filename)}:{frame.lineno}, in {frame.name})"
    if isinstance(e, MemoryError):
        # Python's allocator failed to grow the plugin's memory at the policy's limit.
        message += f"; the plugin ran out of memory (raise plugins.{kind}.limits.memory_mib in the policy file if this is expected)"
    elif isinstance(e, ModuleNotFoundError) and e.name:
        message += (
            f"; a plugin has only the modules imported while it was built, so add `import {e.name}`"
            " at the top of your module (the standard library also imports some modules only when a function needs them)"
        )
    return types.ToolError_Failed(f"{message}\n{traceback_text(e)}")


_SDK = os.path.dirname(__file__) + os.sep
# `json` is a package of the standard library (`os` may be frozen, with no file).
_STDLIB = os.path.dirname(os.path.dirname(json.__file__)) + os.sep


def where(e: Exception) -> traceback.FrameSummary:
    """The deepest frame of the author's code (else the deepest frame): the line to look at."""
    frames = traceback.extract_tb(e.__traceback__)
    return next((f for f in reversed(frames) if not f.filename.startswith((_SDK, _STDLIB))), frames[-1])


def traceback_text(e: Exception) -> str:
    """The traceback without the SDK's own frames."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if not f.filename.startswith(_SDK)]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames), *traceback.format_exception_only(type(e), e)]
    return "".join(lines).rstrip()


def capability_variant(kind: str):
    from .bindings.imports import types

    return {
        "denied": types.CapabilityError_Denied,
        "not-configured": types.CapabilityError_NotConfigured,
        "not-found": types.CapabilityError_NotFound,
        "too-large": types.CapabilityError_TooLarge,
        "failed": types.CapabilityError_Failed,
    }[kind]
