"""Write NoETL tool plugins in Python, as WebAssembly components built by componentize-py.

A plugin is a subclass of `Tool` and one line that exports it::

    from noetl_plugin import Context, FieldError, InvalidConfig, Tool, export, success

    class Echo(Tool):
        kind = "echo"
        version = "0.1.0"
        description = "Returns its input"

        def plan(self, config: dict, context: Context) -> dict:
            if "input" not in config:
                raise InvalidConfig(FieldError("tool.input", "missing", "give the value to echo"))
            return success(config["input"])

    Handler = export(Echo)

Build it with `componentize-py -w tool componentize app -o echo.wasm` (this package on
componentize-py's Python path: installed in its environment, or `-p DIR`). Nothing here
imports the generated bindings until the host calls the component, so the logic can be
tested natively with plain `python -m unittest`. The whole guide is PLUGINS.md in the
noetl-host repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Dict, List, Optional, Union

__all__ = [
    "CONTRACT_VERSION",
    "CapabilityError",
    "Context",
    "FieldError",
    "InvalidConfig",
    "Job",
    "Manifest",
    "Outcome",
    "Tool",
    "ToolFailed",
    "error",
    "export",
    "success",
]

#: The contract this SDK builds plugins for (the version of the WIT package in wit/).
CONTRACT_VERSION = "0.2.0"


def success(data: Any = None, **extra: Any) -> Dict[str, Any]:
    """A successful response: later steps see `data` as `{{ STEP }}`; `extra` keys pass through."""
    return {"status": "success", "data": data, **extra}


def error(message: str, data: Any = None, **extra: Any) -> Dict[str, Any]:
    """The tool ran and says it failed: `message` is shown to the person, the step fails."""
    return {"status": "error", "error": message, "data": data, **extra}


class Context:
    """What the host says about the call: `execution_id`, `step`, and with `run` also
    `playbook` and `playbook_dir` (PLUGINS.md, "What plan receives")."""

    def __init__(self, raw: Dict[str, Any]):
        self.raw = raw

    @property
    def execution_id(self) -> str:
        """The NoETL execution id; `"local"` when the host was not given one."""
        return self.get("execution_id", "local")

    @property
    def step(self) -> str:
        """The step's name; `"step"` when the host was not given one."""
        return self.get("step", "step")

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


@dataclass
class FieldError:
    """One invalid field: its dotted path (`tool.top`), what is wrong, what to write instead."""

    field: str
    message: str
    fix: str


class InvalidConfig(Exception):
    """Raise from `plan` when the step's config is invalid: the host shows every field error
    and creates nothing (`exec` exits 2). Collect all the bad fields before raising."""

    def __init__(self, *errors: FieldError):
        if not errors:
            raise ValueError("InvalidConfig needs at least one FieldError")
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message} ({e.fix})" for e in self.errors))


class ToolFailed(Exception):
    """Raise when the tool cannot do its work for another reason; the message is shown as is."""


class CapabilityError(Exception):
    """A capability call the host refused or could not complete. `kind` is one of `denied`,
    `not-configured`, `not-found`, `too-large`, `failed`; the message names the plugin, the
    capability and the target. Left uncaught in `plan`, it reaches the host as it was."""

    KINDS: ClassVar[tuple] = ("denied", "not-configured", "not-found", "too-large", "failed")

    def __init__(self, kind: str, message: str):
        if kind not in self.KINDS:
            raise ValueError(f"capability error kind {kind!r}: use one of {', '.join(self.KINDS)}")
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


@dataclass
class Manifest:
    """One Kubernetes object of a job: `body` is the whole object (apiVersion, kind, metadata, ...)."""

    kind: str
    name: str
    body: Dict[str, Any]


@dataclass
class Job:
    """Return from `plan` to have the host run a Kubernetes Job (needs a `jobs` grant in the
    policy); the host then calls `finish` with the `Outcome`. Supporting objects first, the
    Job last."""

    namespace: str
    job_name: str
    manifests: List[Manifest]
    timeout_seconds: int


@dataclass
class Outcome:
    """How a job ended, as the host observed it; the argument of `Tool.finish`.
    `status` is `completed`, `failed`, `timeout` or `start-failed`."""

    status: str
    job_name: str
    namespace: str
    pod_name: Optional[str]
    execution_seconds: float
    succeeded: int
    failed: int
    exit_code: Optional[int]
    reason: Optional[str]
    message: Optional[str]
    output: str
    stderr: Optional[str]
    output_truncated: bool


class Tool:
    """Subclass it, set `kind`, `version`, `description` (and `schema`, a JSON Schema of the
    step's `tool` object), implement `plan`, and export it with `Handler = export(MyTool)`."""

    kind: ClassVar[str] = ""
    version: ClassVar[str] = ""
    description: ClassVar[str] = ""
    schema: ClassVar[Dict[str, Any]] = {}

    def plan(self, config: Dict[str, Any], context: Context) -> Union[Dict[str, Any], Job]:
        """Validate the step's rendered `tool` config (`kind` included) and return the
        response (`success(...)`, `error(...)`) or a `Job` for the host to run."""
        raise NotImplementedError

    def finish(self, config: Dict[str, Any], context: Context, outcome: Outcome) -> Dict[str, Any]:
        """Shape the response from a finished job; only tools whose `plan` returns a `Job` need it."""
        raise ToolFailed("this tool never returns a job from plan, so finish is not expected")


def export(tool: type) -> type:
    """The class componentize-py calls for the `handler` export: `Handler = export(MyTool)`,
    at the top level of the module you build. Checks the tool's description at once, so a
    mistake fails the build rather than the first call."""
    from ._export import handler_class

    return handler_class(tool)
