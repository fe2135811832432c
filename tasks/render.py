"""Nornir task: a host's whole intended config, rendered from the inventory and the
services it carries (onramp.intended). Compute and allocate first, render last."""

from __future__ import annotations

from nornir.core.task import Result, Task

from onramp.intended import RouterServices, router_config
from onramp.inventory import Backbone


def render_config(task: Task, backbone: Backbone, services: dict[str, RouterServices]) -> Result:
    """The candidate for this host (replace semantics: the whole config)."""
    name = task.host.name
    return Result(host=task.host, result=router_config(backbone, name, services[name]))
