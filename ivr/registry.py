"""Call flows by AGI script name, the way wazo-agid registers its handlers.

A flow is a plain function `(call, ctx) -> None` in a module under `ivr/flows/`, registered with
`@flow("name")`; Asterisk picks it with `AGI(agi://host:4573/name)`. A flow tells the dialplan
what to do next through channel variables (`HOTLINE_NEXT=agent` sends the caller to the queue)
and returns; it never hangs up on a caller it has not said goodbye to.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from intake.clock import utcnow
from intake.config import Settings
from intake.runtime import Runtime
from ivr.call import Call


@dataclass(frozen=True)
class FlowContext:
    """What a flow gets besides the call: the process's runtime (settings, database sessions),
    the script's arguments (`agi_arg_1`, … in order) and a clock."""

    runtime: Runtime
    args: tuple[str, ...] = ()
    clock: Callable[[], datetime] = field(default=utcnow)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("ivr.flow"))

    @property
    def settings(self) -> Settings:
        return self.runtime.settings


FlowHandler = Callable[[Call, FlowContext], None]

_flows: dict[str, FlowHandler] = {}


class DuplicateFlow(Exception):
    """Two flows claimed the same script name."""


def flow(name: str) -> Callable[[FlowHandler], FlowHandler]:
    """Register the decorated function as the handler of AGI script `name`."""

    def register(handler: FlowHandler) -> FlowHandler:
        existing = _flows.get(name)
        if existing is not None and existing is not handler:
            raise DuplicateFlow(f"AGI script {name!r} is already handled by {existing!r}")
        _flows[name] = handler
        return handler

    return register


def lookup(name: str) -> FlowHandler | None:
    """The flow for `name`, or None when no flow has that name."""
    return _flows.get(name)


def registered() -> Mapping[str, FlowHandler]:
    return dict(_flows)


def load_flows(package: str = "ivr.flows") -> list[str]:
    """Import every module of `package` so its `@flow` decorators run; the script names known.

    A flow module that fails to import is logged and skipped: the other flows still serve
    calls, and calls for the broken one reach the fallback (an agent)."""
    root = importlib.import_module(package)
    for module in pkgutil.iter_modules(root.__path__, prefix=f"{package}."):
        try:
            importlib.import_module(module.name)
        except Exception:
            logging.getLogger("ivr.registry").exception("cannot load call flow %s", module.name)
    return sorted(_flows)


def script_name(raw: str) -> str:
    """`agi_network_script` as Asterisk sends it (`hotline`, `/hotline`, `hotline?x=1`) or an
    AGI script path (`/var/lib/asterisk/agi-bin/hotline`): the flow name."""
    name = raw.split("?", 1)[0].strip().strip("/")
    return name.rsplit("/", 1)[-1]
